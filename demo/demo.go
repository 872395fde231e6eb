// Package demo serves a small built-in podcast, so a fresh install has
// something to republish without touching the internet. Its episodes are short
// generated WAV tones, identical on every machine, so their torrents are too.
package demo

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"html"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Episode is one generated demo episode.
type Episode struct {
	Number    int
	Title     string
	Published time.Time
	Audio     []byte
}

// Podcast is the demo show, generated once at start.
type Podcast struct {
	baseURL  string // public URL of the gateway, no trailing slash
	episodes []Episode
}

const (
	sampleRate = 16000
	seconds    = 30
)

// New generates the demo episodes; baseURL is where /demo/ is served.
func New(baseURL string) *Podcast {
	notes := []struct {
		title string
		freq  float64
	}{
		{"A above middle C", 440},
		{"C an octave up", 523.25},
		{"E for the chord", 659.25},
	}
	p := &Podcast{baseURL: baseURL}
	for i, n := range notes {
		p.episodes = append(p.episodes, Episode{
			Number:    i + 1,
			Title:     fmt.Sprintf("Episode %d: %s", i+1, n.title),
			Published: time.Date(2026, 1, 5+7*i, 9, 0, 0, 0, time.UTC),
			Audio:     tone(n.freq, seconds),
		})
	}
	return p
}

// Episodes returns the generated episodes.
func (p *Podcast) Episodes() []Episode { return p.episodes }

// FeedURL is the demo feed's address.
func (p *Podcast) FeedURL() string { return p.baseURL + "/demo/feed.xml" }

// tone renders a 16-bit mono PCM WAV of a sine wave with a gentle fade.
func tone(freq float64, secs int) []byte {
	n := sampleRate * secs
	var b bytes.Buffer
	b.Grow(44 + 2*n)
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, uint16(1)) // PCM
	binary.Write(&b, le, uint16(1)) // mono
	binary.Write(&b, le, uint32(sampleRate))
	binary.Write(&b, le, uint32(sampleRate*2))
	binary.Write(&b, le, uint16(2))
	binary.Write(&b, le, uint16(16))
	b.WriteString("data")
	binary.Write(&b, le, uint32(2*n))
	for i := 0; i < n; i++ {
		env := math.Min(1, math.Min(float64(i), float64(n-i))/float64(sampleRate/10))
		v := int16(8000 * env * math.Sin(2*math.Pi*freq*float64(i)/sampleRate))
		binary.Write(&b, le, v)
	}
	return b.Bytes()
}

// Routes registers GET /demo/feed.xml and GET /demo/episode-{n}.wav.
func (p *Podcast) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /demo/feed.xml", p.serveFeed)
	mux.HandleFunc("GET /demo/{file}", p.serveAudio)
}

func (p *Podcast) serveFeed(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	esc := html.EscapeString
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0">` + "\n<channel>\n")
	fmt.Fprintf(&b, "<title>Seedcast Demo</title>\n<link>%s/demo/</link>\n", esc(p.baseURL))
	b.WriteString("<description>Three short tones, served by Seedcast itself so a fresh install has a podcast to turn into torrents.</description>\n")
	b.WriteString("<language>en</language>\n<itunes:author>Seedcast</itunes:author>\n<itunes:explicit>false</itunes:explicit>\n")
	b.WriteString(`<itunes:category text="Technology"/>` + "\n")
	b.WriteString("<podcast:guid>5e3d0c8c-7a8e-5b0f-9d3b-5eedca570001</podcast:guid>\n")
	for i := len(p.episodes) - 1; i >= 0; i-- {
		e := p.episodes[i]
		u := fmt.Sprintf("%s/demo/episode-%d.wav", p.baseURL, e.Number)
		fmt.Fprintf(&b, "<item>\n<title>%s</title>\n<guid isPermaLink=\"false\">seedcast-demo-%d</guid>\n", esc(e.Title), e.Number)
		fmt.Fprintf(&b, "<description>%d seconds of a pure tone.</description>\n<pubDate>%s</pubDate>\n", seconds, e.Published.Format(time.RFC1123Z))
		fmt.Fprintf(&b, "<itunes:duration>%d</itunes:duration>\n<itunes:episode>%d</itunes:episode>\n", seconds, e.Number)
		fmt.Fprintf(&b, "<enclosure url=\"%s\" length=\"%d\" type=\"audio/wav\"/>\n</item>\n", esc(u), len(e.Audio))
	}
	b.WriteString("</channel>\n</rss>\n")
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	http.ServeContent(w, r, "feed.xml", p.episodes[len(p.episodes)-1].Published, bytes.NewReader(b.Bytes()))
}

func (p *Podcast) serveAudio(w http.ResponseWriter, r *http.Request) {
	var n int
	if _, err := fmt.Sscanf(r.PathValue("file"), "episode-%d.wav", &n); err != nil || n < 1 || n > len(p.episodes) ||
		r.PathValue("file") != "episode-"+strconv.Itoa(n)+".wav" {
		http.NotFound(w, r)
		return
	}
	e := p.episodes[n-1]
	w.Header().Set("Content-Type", "audio/wav")
	// ServeContent gives Range support, which webseed clients rely on.
	http.ServeContent(w, r, "", e.Published, bytes.NewReader(e.Audio))
}
