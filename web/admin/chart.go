package admin

import (
	"fmt"
	"time"
)

// chartDays is how many days the dashboard's completions chart shows.
const chartDays = 14

// Bar is one day of the chart, laid out for the SVG.
type Bar struct {
	Day          string
	Count        int64
	X, Y, W, H   int
	LabelX       int
	Label, Title string
}

// Chart is a server-side bar chart (no script, allowed by the CSP).
type Chart struct {
	Width, Height int
	Baseline      int // y of the bars' foot
	Bars          []Bar
	Max           int64
}

// completionsChart lays out per-day counted downloads for the chartDays days up to now.
func completionsChart(perDay map[string]int64, now time.Time) Chart {
	return dayChart(perDay, now, func(n int64) string { return fmt.Sprintf("%d downloads", n) })
}

// dayChart lays out per-day figures for the chartDays days up to now; say words a figure.
func dayChart(perDay map[string]int64, now time.Time, say func(int64) string) Chart {
	const w, h, top, bottom = 560, 160, 10, 20
	c := Chart{Width: w, Height: h, Baseline: h - bottom}
	today := now.UTC().Truncate(24 * time.Hour)
	var days []string
	for i := chartDays - 1; i >= 0; i-- {
		days = append(days, today.AddDate(0, 0, -i).Format(time.DateOnly))
	}
	for _, d := range days {
		c.Max = max(c.Max, perDay[d])
	}
	slot := w / chartDays
	for i, d := range days {
		n := perDay[d]
		bh := 0
		if c.Max > 0 {
			bh = int(n * int64(h-top-bottom) / c.Max)
		}
		c.Bars = append(c.Bars, Bar{Day: d, Count: n, X: i*slot + 4, W: slot - 8, H: bh, Y: h - bottom - bh,
			LabelX: i*slot + slot/2, Label: d[5:], Title: d + ": " + say(n)})
	}
	return c
}
