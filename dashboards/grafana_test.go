package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

// The Grafana provisioning files of dashboards/grafana: the data source the
// dashboards use and the folder provider.
const (
	grafanaDir         = "grafana/provisioning"
	grafanaDashDir     = grafanaDir + "/dashboards/civisens"
	grafanaDatasource  = "civisens-influxdb"
	grafanaTimeFilter  = "time > now() - 7d"
	grafanaShiftFilter = "time > now() - 372d AND time < now() - 358d" // a panel shifted by 1y
)

type grafanaDS struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaTarget struct {
	RefID      string     `json:"refId"`
	Datasource *grafanaDS `json:"datasource"`
	RawQuery   bool       `json:"rawQuery"`
	Query      string     `json:"query"`
}

type grafanaPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource *grafanaDS      `json:"datasource"`
	TimeShift  string          `json:"timeShift"`
	Targets    []grafanaTarget `json:"targets"`
	Panels     []grafanaPanel  `json:"panels"` // of a collapsed row
	Options    struct {
		Content string `json:"content"`
	} `json:"options"`
}

type grafanaVariable struct {
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Datasource *grafanaDS `json:"datasource"`
	Query      string     `json:"query"`
	IncludeAll bool       `json:"includeAll"`
	AllValue   string     `json:"allValue"`
}

type grafanaDashboard struct {
	file          string
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	Description   string         `json:"description"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
}

// loadGrafanaDashboards reads and checks every JSON of the dashboards
// folder: valid JSON, a uid and a title, the civisens InfluxDB data source
// on every panel, target and variable, raw InfluxQL in every target, and
// no panel without a query but text panels (which must say something).
func loadGrafanaDashboards(t *testing.T) []grafanaDashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(grafanaDashDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("%s: %d dashboards, want 3 (energy, air, parking): %v", grafanaDashDir, len(files), files)
	}
	var out []grafanaDashboard
	uids, titles := map[string]string{}, map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Errorf("%s: not valid JSON", f)
			continue
		}
		var d grafanaDashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		d.file = filepath.Base(f)
		if d.UID == "" || len(d.UID) > 40 {
			t.Errorf("%s: uid %q: want 1 to 40 characters", f, d.UID)
		}
		if d.Title == "" || d.Description == "" {
			t.Errorf("%s: title %q, description %q: both wanted", f, d.Title, d.Description)
		}
		if d.SchemaVersion < 39 {
			t.Errorf("%s: schemaVersion %d: want that of a current Grafana", f, d.SchemaVersion)
		}
		if o, ok := uids[d.UID]; ok {
			t.Errorf("%s: uid %q already used by %s", f, d.UID, o)
		}
		if o, ok := titles[d.Title]; ok {
			t.Errorf("%s: title %q already used by %s", f, d.Title, o)
		}
		uids[d.UID], titles[d.Title] = d.file, d.file
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			if v.Datasource == nil || v.Datasource.UID != grafanaDatasource {
				t.Errorf("%s: variable %s: datasource %+v, want uid %s", f, v.Name, v.Datasource, grafanaDatasource)
			}
			if v.Query == "" {
				t.Errorf("%s: variable %s: no query", f, v.Name)
			}
		}
		ids := map[int]bool{}
		for _, p := range grafanaPanels(d.Panels) {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d twice", f, p.ID)
			}
			ids[p.ID] = true
			if p.Title == "" {
				t.Errorf("%s: panel %d without a title", f, p.ID)
			}
			switch p.Type {
			case "row":
				continue
			case "text":
				if strings.TrimSpace(p.Options.Content) == "" || len(p.Targets) != 0 {
					t.Errorf("%s: text panel %q: want content and no query", f, p.Title)
				}
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no target", f, p.Title)
			}
			if p.Datasource == nil || p.Datasource.UID != grafanaDatasource || p.Datasource.Type != "influxdb" {
				t.Errorf("%s: panel %q: datasource %+v, want influxdb %s", f, p.Title, p.Datasource, grafanaDatasource)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if refs[tg.RefID] || tg.RefID == "" {
					t.Errorf("%s: panel %q: refId %q empty or twice", f, p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if tg.Datasource != nil && tg.Datasource.UID != grafanaDatasource {
					t.Errorf("%s: panel %q %s: datasource %+v", f, p.Title, tg.RefID, tg.Datasource)
				}
				if !tg.RawQuery || strings.TrimSpace(tg.Query) == "" {
					t.Errorf("%s: panel %q %s: want a raw InfluxQL query", f, p.Title, tg.RefID)
				}
			}
		}
		out = append(out, d)
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// grafanaPanels flattens the panels of collapsed rows.
func grafanaPanels(ps []grafanaPanel) []grafanaPanel {
	var out []grafanaPanel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, grafanaPanels(p.Panels)...)
	}
	return out
}

var grafanaLeftover = regexp.MustCompile(`\$\{?[A-Za-z_]|\[\[`)

// grafanaExpand replaces the Grafana macros and variables of q the way
// Grafana's InfluxDB data source does: $timeFilter, $__interval, and each
// template variable — a selection of values (regex-escaped, several as
// (a|b)) or, when vals is nil, "All" (the variable's allValue, .*).
// Variables are written /^$v$/ (or /^${v}$/, /^[[v]]$/), bare after =~
// (=~ $v, then a whole regex /^…$/), or quoted after = ('$v', a single
// value).
func grafanaExpand(q, timeFilter string, vars map[string][]string) (string, error) {
	q = strings.ReplaceAll(q, "$timeFilter", timeFilter)
	q = strings.ReplaceAll(q, "$__interval", "1h")
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	// Longest first, so that $site does not eat $site_type.
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	for _, n := range names {
		vals := vars[n]
		re := ".*"
		if len(vals) > 0 {
			esc := make([]string, len(vals))
			for i, v := range vals {
				esc[i] = strings.ReplaceAll(regexp.QuoteMeta(v), "/", `\/`)
			}
			re = esc[0]
			if len(esc) > 1 {
				re = "(" + strings.Join(esc, "|") + ")"
			}
		}
		for _, ref := range []string{"${" + n + "}", "[[" + n + "]]", "$" + n} {
			q = strings.ReplaceAll(q, "/^"+ref+"$/", "/^"+re+"$/")
			q = strings.ReplaceAll(q, "=~ "+ref, "=~ /^"+re+"$/")
			if strings.Contains(q, "'"+ref+"'") {
				if len(vals) != 1 {
					return "", fmt.Errorf("'%s' compares with one value: use =~ /^%s$/ for All or several", ref, ref)
				}
				q = strings.ReplaceAll(q, "'"+ref+"'", "'"+strings.ReplaceAll(vals[0], "'", `\'`)+"'")
			}
		}
	}
	if m := grafanaLeftover.FindString(q); m != "" {
		return "", fmt.Errorf("unknown macro or variable at %q in %s", m, q)
	}
	return q, nil
}

// grafanaHasData tells whether an InfluxQL answer holds a value: a number
// in a column other than time, or a tag value of SHOW TAG VALUES. A
// misspelt field gives no series, or only nulls.
func grafanaHasData(rows []testinfra.Row) bool {
	for _, r := range rows {
		if _, ok := r["value"].(string); ok {
			return true
		}
		for c, v := range r {
			if _, ok := v.(json.Number); ok && c != "time" {
				return true
			}
		}
	}
	return false
}

// grafanaSeed writes a few hours of each aggregate measurement the
// dashboards read into civisens/civisens_p10y: two main meters (one with
// no meter tag) and a sub-meter, for the last two days and the same hours a
// year ago; two air stations; four parking bays in two zones.
func grafanaSeed(t *testing.T, in *testinfra.Influx) {
	in.Exec(t, "CREATE DATABASE civisens")
	in.Exec(t, `CREATE RETENTION POLICY "civisens_p10y" ON "civisens" DURATION 87600h REPLICATION 1`)
	now := time.Now().UTC().Truncate(time.Hour)
	var lines []string
	add := func(m, tags, fields string, at time.Time) {
		lines = append(lines, fmt.Sprintf("%s,%s %s %d", m, tags, fields, at.Unix()))
	}
	meters := []struct {
		tags string
		wh   float64
	}{
		{"building=hotel-de-ville,meter=general,sensor=energie-mairie-01,site=hotel-de-ville", 1000},
		{"building=hotel-de-ville,meter=cuisine,sensor=energie-mairie-02,site=hotel-de-ville", 500},
		{"building=ecole-jules-ferry,sensor=energie-ecole-01,site=ecole-jules-ferry", 2000},
	}
	for h := 1; h <= 48; h++ {
		for _, start := range []time.Time{now.Add(-time.Duration(h) * time.Hour), now.Add(-365*24*time.Hour - time.Duration(h)*time.Hour)} {
			for i, m := range meters {
				add("energy_agg", m.tags+",window=1h", fmt.Sprintf("energy_count=60i,energy_delta=%g,energy_last=%g,power_mean=%g,indoor_temperature_mean=%g,indoor_temperature_count=12i",
					m.wh, 1e6+float64(48-h)*m.wh, m.wh, 19.5+float64(i)), start)
			}
			// Another window: never summed.
			add("energy_agg", meters[0].tags+",window=15m", "energy_count=15i,energy_delta=1e6", start)
		}
		at := now.Add(-time.Duration(h) * time.Hour)
		for i, s := range []string{"sensor=air-a,site=mairie,zone=centre", "sensor=air-b,site=gare,zone=nord"} {
			f := float64(i*10 + h%24)
			add("air_agg", s+",window=1h", fmt.Sprintf("pm10_mean=%g,pm10_max=%g,pm10_count=12i,pm2_5_mean=%g,no2_mean=%g,o3_mean=%g,temperature_mean=12", 15+f, 30+f, 8+f/2, 25+2*f, 60+f), at)
		}
		for i, s := range []string{"sensor=place-01,zone=centre", "sensor=place-02,zone=centre", "sensor=place-03,zone=centre", "sensor=gare-01,zone=gare"} {
			arr := (h + i) % 3
			add("parking_agg", s+",bay=zone-bleue,window=1h", fmt.Sprintf("occupancy_ratio=%g,occupancy_arrivals=%di,occupancy_count=120i,occupancy_last=%di", float64((h+i)%5)/4, arr, (h+i)%2), at)
		}
	}
	writeRP(t, in, "civisens", "civisens_p10y", lines)
}

// Every query of the Grafana dashboards — panels' targets and template
// variables — runs against InfluxDB 1.8 over seeded aggregates, with every
// variable on All, on one value and on two values, and answers without an
// error and with data.
func TestGrafanaDashboards(t *testing.T) {
	dashs := loadGrafanaDashboards(t)
	in := testinfra.StartInfluxDB(t)
	grafanaSeed(t, in)

	run := func(t *testing.T, what, q string) []testinfra.Row {
		t.Helper()
		rows, err := in.Query("civisens", q)
		if err != nil {
			t.Errorf("%s: %v\n%s", what, err, q)
			return nil
		}
		if !grafanaHasData(rows) {
			t.Errorf("%s: no data for the seeded aggregates\n%s", what, q)
		}
		return rows
	}
	queries := 0
	for _, d := range dashs {
		t.Run(d.file, func(t *testing.T) {
			// Selections: All everywhere; the first value of each variable
			// (as its query gives them, the earlier ones chosen); its first
			// two values.
			for _, mode := range []string{"all", "one", "two"} {
				vars := map[string][]string{}
				for _, v := range d.Templating.List {
					if v.Type != "query" {
						continue
					}
					if !v.IncludeAll || v.AllValue != ".*" {
						t.Errorf("variable %s: want includeAll with allValue .*", v.Name)
					}
					q, err := grafanaExpand(v.Query, grafanaTimeFilter, vars)
					if err != nil {
						t.Fatalf("variable %s: %v", v.Name, err)
					}
					queries++
					rows := run(t, fmt.Sprintf("variable %s (%s)", v.Name, mode), q)
					var vals []string
					for _, r := range rows {
						if s, ok := r["value"].(string); ok {
							vals = append(vals, s)
						}
					}
					switch {
					case mode == "all":
						vars[v.Name] = nil
					case mode == "one" && len(vals) > 0:
						vars[v.Name] = vals[:1]
					case mode == "two" && len(vals) > 0:
						vars[v.Name] = vals[:min(2, len(vals))]
					}
				}
				for _, p := range grafanaPanels(d.Panels) {
					for _, tg := range p.Targets {
						tf := grafanaTimeFilter
						if p.TimeShift != "" {
							if p.TimeShift != "1y" {
								t.Fatalf("panel %q: timeShift %q: the test knows 1y only", p.Title, p.TimeShift)
							}
							tf = grafanaShiftFilter
						}
						q, err := grafanaExpand(tg.Query, tf, vars)
						if err != nil {
							t.Errorf("panel %q %s: %v", p.Title, tg.RefID, err)
							continue
						}
						queries++
						run(t, fmt.Sprintf("panel %q %s (%s %v)", p.Title, tg.RefID, mode, vars), q)
					}
				}
			}
		})
	}
	t.Logf("%d queries run (%d dashboards, variables on All, one value, two values)", queries, len(dashs))

	// The check catches a misspelt field in any panel's query (fill(0)
	// included: no series at all).
	t.Run("misspelt", func(t *testing.T) {
		field := regexp.MustCompile(`\b(sum|mean|max|min|last)\("([A-Za-z0-9_]+)"\)`)
		for _, d := range dashs {
			all := map[string][]string{}
			for _, v := range d.Templating.List {
				all[v.Name] = nil
			}
			for _, p := range grafanaPanels(d.Panels) {
				for _, tg := range p.Targets {
					q, err := grafanaExpand(tg.Query, grafanaTimeFilter, all)
					if err != nil {
						t.Fatal(err)
					}
					bad := field.ReplaceAllString(q, `$1("${2}_typo")`)
					if bad == q {
						t.Errorf("%s %q: no field found to misspell in %s", d.file, p.Title, q)
						continue
					}
					rows, err := in.Query("civisens", bad)
					if err != nil {
						t.Errorf("%s %q: %v", d.file, p.Title, err)
					} else if grafanaHasData(rows) {
						t.Errorf("%s %q: a misspelt field still gives data: %s", d.file, p.Title, bad)
					}
				}
			}
		}
	})

	// The figures are those of the
	// seeded main meters: 48 h at 1 kWh (the town hall, its kitchen
	// sub-meter and the 15 min window left out) and at 2 kWh (the school,
	// whose meter has no meter tag).
	t.Run("figures", func(t *testing.T) {
		var energy *grafanaDashboard
		for i := range dashs {
			if dashs[i].UID == "civisens-energie" {
				energy = &dashs[i]
			}
		}
		if energy == nil {
			t.Fatal("no dashboard civisens-energie")
		}
		var total, lastYear string
		for _, p := range grafanaPanels(energy.Panels) {
			switch {
			case p.Type == "bargauge":
				total = p.Targets[0].Query
			case p.Type == "stat" && p.TimeShift == "1y":
				lastYear = p.Targets[0].Query
			}
		}
		all := map[string][]string{"site": nil, "building": nil}
		// The same hours a year ago, both buildings: 48 + 96 kWh.
		q, err := grafanaExpand(lastYear, grafanaShiftFilter, all)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := in.Query("civisens", q)
		if err != nil || len(rows) != 1 || fmt.Sprint(rows[0]["kWh"]) != "144" {
			t.Errorf("kWh a year ago: %v, %v; want 144\n%s", rows, err, q)
		}
		q, err = grafanaExpand(total, grafanaTimeFilter, all)
		if err != nil {
			t.Fatal(err)
		}
		rows, err = in.Query("civisens", q)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rows {
			got[fmt.Sprint(r["building"])] = fmt.Sprint(r["kWh"])
		}
		want := map[string]string{"hotel-de-ville": "48", "ecole-jules-ferry": "96"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("kWh per building over 7 days: %v, want %v\n%s", got, want, q)
		}
	})
}

// The provisioning files name the data source the dashboards use and a
// provider of the folder that holds them.
func TestGrafanaProvisioning(t *testing.T) {
	ds, err := os.ReadFile(filepath.Join(grafanaDir, "datasources", "civisens.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: 1", "type: influxdb", "uid: " + grafanaDatasource, "url: http://127.0.0.1:8086", "dbName: civisens", "version: InfluxQL"} {
		if !strings.Contains(string(ds), want) {
			t.Errorf("datasources/civisens.yaml: no %q", want)
		}
	}
	prov, err := os.ReadFile(filepath.Join(grafanaDir, "dashboards", "civisens.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: 1", "providers:", "type: file", "path: /etc/grafana/provisioning/dashboards/civisens"} {
		if !strings.Contains(string(prov), want) {
			t.Errorf("dashboards/civisens.yaml: no %q", want)
		}
	}
	if fi, err := os.Stat(grafanaDashDir); err != nil || !fi.IsDir() {
		t.Errorf("the provider's folder %s: %v", grafanaDashDir, err)
	}
}

// grafanaExpand writes variables as Grafana does.
func TestGrafanaExpand(t *testing.T) {
	vars := map[string][]string{"site": {"hôtel.de-ville"}, "zone": nil, "sensor": {"a", "b/c"}}
	for _, c := range []struct{ in, want string }{
		{`WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval)`, `WHERE "site" =~ /^hôtel\.de-ville$/ AND time > now() - 7d GROUP BY time(1h)`},
		{`"zone" =~ /^${zone}$/ AND "zone" =~ $zone`, `"zone" =~ /^.*$/ AND "zone" =~ /^.*$/`},
		{`"sensor" =~ /^[[sensor]]$/`, `"sensor" =~ /^(a|b\/c)$/`},
		{`"site" = '$site'`, `"site" = 'hôtel.de-ville'`},
	} {
		got, err := grafanaExpand(c.in, grafanaTimeFilter, vars)
		if err != nil || got != c.want {
			t.Errorf("grafanaExpand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{`"zone" = '$zone'`, `"x" =~ /^$other$/`, `GROUP BY time($__rate_interval)`} {
		if got, err := grafanaExpand(in, grafanaTimeFilter, vars); err == nil {
			t.Errorf("grafanaExpand(%q) = %q, want an error", in, got)
		}
	}
}
