package report

// shareChart is a horizontal bar chart of a breakdown (clients, countries), laid out here so
// the template only places numbers.
type shareChart struct {
	Width, Height, Label, BarMax int
	Rows                         []shareRow // the chart's: the largest maxShareRows
	All                          []shareRow // the table's
	Total                        int64
}

type shareRow struct {
	Y, W    int
	Name    string
	N       int64
	Percent string
}

// maxShareRows bounds a chart: the rest of a long breakdown is in the table and the CSV.
const maxShareRows = 20

func newShareChart(ss []Share) shareChart {
	c := shareChart{Width: 960, Label: 140, BarMax: 960 - 140 - 120}
	var peak int64 = 1
	for _, s := range ss {
		c.Total += s.Downloads
		peak = max(peak, s.Downloads)
	}
	for i, s := range ss {
		pct := float64(s.Downloads) * 100 / float64(max(c.Total, 1))
		row := shareRow{Y: 8 + i*24, W: max(1, int(int64(c.BarMax)*s.Downloads/peak)), Name: s.Name, N: s.Downloads,
			Percent: formatPct(pct)}
		c.All = append(c.All, row)
		if i < maxShareRows {
			c.Rows = append(c.Rows, row)
		}
	}
	c.Height = 16 + 24*len(c.Rows)
	return c
}

func formatPct(p float64) string {
	return itoa(int64(p*10+0.5)/10) + "." + itoa(int64(p*10+0.5)%10) + "%"
}
