package main

import (
	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/push"
)

// pushConfig is what package push needs of config.yaml.
func pushConfig(cfg *config.Config) push.Config {
	return push.Config{
		PublicURL:    cfg.HTTP.PublicURL,
		Hub:          cfg.Push.WebSubHub,
		PodpingURL:   cfg.Push.PodpingURL,
		PodpingToken: cfg.Push.PodpingToken,
		Subscribe:    cfg.Push.SubscribeEnabled(),
		UserAgent:    cfg.Fetch.UserAgent,
		MaxBody:      cfg.Fetch.MaxFeedBytes,
	}
}
