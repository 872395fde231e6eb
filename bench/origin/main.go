// Command origin is the local podcast origin the bench/ scripts download from: a plain Go
// net/http file server on loopback with one RSS feed.
//
//	origin -listen 127.0.0.1:0 -file big.bin       one item whose enclosure is big.bin
//	origin -listen 127.0.0.1:0 -items 500           500 items with small generated enclosures
//	origin -listen 127.0.0.1:0 -body feed.xml       feed.xml's bytes at /body, written as Seedcast writes a feed
//
// It prints "listening http://ADDR" on stdout once it accepts connections.
package main

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	file := flag.String("file", "", "serve this file as the newest item's enclosure at /big/{base name}")
	items := flag.Int("items", 0, "number of items with generated enclosures")
	itemSize := flag.Int("item-size", 4096, "bytes per generated enclosure")
	bodyFile := flag.String("body", "", "serve this file's bytes at /body in one write; /body?bytes=N serves the first N")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	feed := buildFeed(base, *file, *items, *itemSize)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /feed.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		http.ServeContent(w, r, "feed.xml", time.Time{}, bytes.NewReader(feed))
	})
	if *file != "" {
		name := filepath.Base(*file)
		mux.HandleFunc("GET /big/"+name, func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, *file)
		})
	}
	if *bodyFile != "" {
		doc, err := os.ReadFile(*bodyFile)
		if err != nil {
			log.Fatal(err)
		}
		// The same write as Seedcast's plain GET of a cached feed, with nothing
		// else in the process: what serving these bytes costs on this machine.
		mux.HandleFunc("GET /body", func(w http.ResponseWriter, r *http.Request) {
			b := doc
			if n, err := strconv.Atoi(r.URL.Query().Get("bytes")); err == nil && n >= 0 && n < len(b) {
				b = b[:n]
			}
			w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		})
	}
	mux.HandleFunc("GET /media/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("n"), ".mp3"))
		if err != nil || n < 0 || n >= *items {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body(n, *itemSize)))
	})
	fmt.Printf("listening %s\n", base)
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, mux))
}

// body is the deterministic content of generated enclosure n.
func body(n, size int) []byte {
	b := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)}).Read(b)
	return b
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func buildFeed(base, file string, items, itemSize int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>Bench Show</title><link>https://example.com/show</link>
<description>A show for benchmarks</description><itunes:author>Bench</itunes:author>
<podcast:guid>c6d5a3b2-1f9e-5d1a-9c3b-2a7e8f4d6b10</podcast:guid>
`)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	if file != "" {
		fi, err := os.Stat(file)
		if err != nil {
			log.Fatal(err)
		}
		name := filepath.Base(file)
		fmt.Fprintf(&b, `<item><title>Big episode</title><guid isPermaLink="false">urn:bench:big:%s:%d</guid>
<pubDate>%s</pubDate><enclosure url="%s/big/%s" length="%d" type="video/mp4"/></item>
`, esc(name), fi.Size(), t0.Add(time.Hour).Format(time.RFC1123Z), base, esc(name), fi.Size())
	}
	for i := range items {
		fmt.Fprintf(&b, `<item><title>Episode %d: a title of a typical length &amp; punctuation</title>
<guid isPermaLink="false">urn:bench:episode:%d</guid><pubDate>%s</pubDate>
<link>https://example.com/show/%d</link>
<description>%s</description>
<itunes:duration>%d</itunes:duration><itunes:episode>%d</itunes:episode>
<enclosure url="%s/media/%d.mp3" length="%d" type="audio/mpeg"/></item>
`, i, i, t0.Add(-time.Duration(i)*24*time.Hour).Format(time.RFC1123Z), i,
			esc(strings.Repeat("Show notes with <b>some</b> length & links. ", 12)),
			1800+i, i, base, i, itemSize)
	}
	b.WriteString("</channel></rss>\n")
	return b.Bytes()
}
