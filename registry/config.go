package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civisens/civisens/registry/internal/httpapi"
	"github.com/civisens/civisens/registry/internal/opendata"
)

// Defaults of the configuration.
const (
	defaultListen       = "127.0.0.1:8080"
	defaultDB           = "var/registry/registry.db"
	defaultPublicURL    = "http://127.0.0.1:8080"
	defaultInfluxURL    = "http://127.0.0.1:8086"
	defaultInfluxBucket = "civisens"
	defaultLogLevel     = "info"
	defaultTimezone     = "Europe/Paris"
)

// errUsage marks the errors of the command line and of the configuration:
// main exits with status 2 on them.
var errUsage = errors.New("usage")

// errDone says that run has answered --help or --version and has nothing
// more to do.
var errDone = errors.New("done")

// config is the registry's configuration. The zero value of each field
// means its default.
type config struct {
	// Listen is the TCP address of the HTTP server; default 127.0.0.1:8080.
	// Port 0 picks a free port (the log says which).
	Listen string
	// DB is the SQLite file of the register, created with its folders when
	// missing; default var/registry/registry.db.
	DB string
	// Demo seeds the demo town into a register that has no entry.
	Demo bool
	// PublicURL is the base of the entries' stable URLs; default
	// http://127.0.0.1:8080.
	PublicURL string
	// InfluxURL is the InfluxDB that entry pages read the latest readings
	// from; default http://127.0.0.1:8086.
	InfluxURL string
	// InfluxToken authenticates to InfluxDB: "user:password" for 1.x, a
	// token for 2.x, empty when authentication is off.
	InfluxToken secret
	// InfluxOrg is the 2.x organisation; empty means InfluxDB 1.x.
	InfluxOrg string
	// InfluxBucket is the 2.x bucket, or the 1.x database (readings in its
	// "autogen" retention policy unless it says "database/policy");
	// default civisens.
	InfluxBucket string
	// LogLevel is debug, info, warn or error; default info. The access log
	// is at debug.
	LogLevel string
	// Timezone is the IANA time zone of the times shown on pages; default
	// Europe/Paris.
	Timezone string

	// Open data and import (opendata_config.go). OpenDataLicence names the
	// licence of the register's open data (exports, DCAT-AP record);
	// default "Licence Ouverte / Open Licence version 2.0".
	OpenDataLicence string
	// OpenDataLicenceURL is the licence's text; default, for the default
	// licence only, https://www.etalab.gouv.fr/licence-ouverte-open-licence/.
	OpenDataLicenceURL string
	// PublisherName names who publishes the register in its DCAT-AP
	// record; default: the accountable organisation most entries name.
	PublisherName string
	// PublisherURL is the publisher's web site (needs PublisherName).
	PublisherURL string
	// ImportMaxSize bounds the body of POST /api/v1/import ("10MiB",
	// "512KiB", or bytes); default 10MiB.
	ImportMaxSize string

	// Provisioning (provision_config.go). TerritoryName names the
	// territory, e.g. "Commune de Valmont-sur-Lise"; TerritoryBBox is its
	// bounding box "minLon,minLat,maxLon,maxLat" (WGS84), outside which
	// publication is refused; FunctionalContact is the organisation's
	// functional mailbox, which refuses personal-looking public contacts.
	// Empty: not checked — but -demo with none of the three set checks the
	// demo town's.
	TerritoryName     string
	TerritoryBBox     string
	FunctionalContact string
	// GatewayToken, when set, is ensured at start as the API token of
	// role gateway named "bootstrap-gateway" (stored hashed).
	GatewayToken secret
	// DemoBridgePassword, with Demo, is ensured at start as the MQTT
	// password of the demo's firmware bridge "simulateur", which publishes
	// every demo sensor (stored as a bcrypt hash).
	DemoBridgePassword secret
	// MaxBodySize bounds every request body but an import's; default 1MiB.
	MaxBodySize string

	// The map (map_config.go). MapTiles is the URL template of an
	// OpenStreetMap-compatible tile server; default OpenStreetMap's.
	// MapAttribution credits the tiles (HTML); default, for the default
	// tiles only, the OpenStreetMap contributors.
	MapTiles       string
	MapAttribution string

	// The dashboards (dashboards_config.go). DashboardsTemperatureSensor
	// is the sensor id whose temperature gives the energy dashboard's
	// degree days; empty: the first air sensor (by id) with temperature
	// aggregates.
	// AASQAURL is the regional AASQA's official air quality index page;
	// default Atmo France's. DashboardsSettledAfter is how long after a
	// day ends the energy dashboards keep what they read of it (a
	// duration, or days as "8d"; "off": nothing kept); empty: 8 days.
	DashboardsTemperatureSensor string
	AASQAURL                    string
	DashboardsSettledAfter      string
}

// secret is a value that logs redacted.
type secret string

func (s secret) LogValue() slog.Value {
	if s == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("REDACTED")
}

func (s secret) String() string { return s.LogValue().String() }

// LogValue logs the configuration, with the token redacted.
func (c config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("listen", c.Listen),
		slog.String("db", c.DB),
		slog.Bool("demo", c.Demo),
		slog.String("public_url", c.PublicURL),
		slog.String("influx_url", c.InfluxURL),
		slog.Any("influx_token", c.InfluxToken),
		slog.String("influx_org", c.InfluxOrg),
		slog.String("influx_bucket", c.InfluxBucket),
		slog.String("log_level", c.LogLevel),
		slog.String("timezone", c.Timezone),
		slog.String("open_data_licence", c.OpenDataLicence),
		slog.String("open_data_licence_url", c.OpenDataLicenceURL),
		slog.String("publisher_name", c.PublisherName),
		slog.String("publisher_url", c.PublisherURL),
		slog.String("import_max_size", c.ImportMaxSize),
		slog.String("territory_name", c.TerritoryName),
		slog.String("territory_bbox", c.TerritoryBBox),
		slog.String("functional_contact", c.FunctionalContact),
		slog.Any("gateway_token", c.GatewayToken),
		slog.Any("demo_bridge_password", c.DemoBridgePassword),
		slog.String("max_body_size", c.MaxBodySize),
		slog.String("map_tiles", c.MapTiles),
		slog.String("dashboards_temperature_sensor", c.DashboardsTemperatureSensor),
		slog.String("aasqa_url", c.AASQAURL),
		slog.String("dashboards_settled_after", c.DashboardsSettledAfter),
	)
}

// withDefaults returns c with its zero fields set to their defaults.
func (c config) withDefaults() config {
	set := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	set(&c.Listen, defaultListen)
	set(&c.DB, defaultDB)
	set(&c.PublicURL, defaultPublicURL)
	set(&c.InfluxURL, defaultInfluxURL)
	set(&c.InfluxBucket, defaultInfluxBucket)
	set(&c.LogLevel, defaultLogLevel)
	set(&c.Timezone, defaultTimezone)
	return c.withOpenDataDefaults().withProvisionDefaults().withMapDefaults()
}

// Validate checks the configuration, with its defaults applied, and lists
// every problem. It has no side effect.
func (c config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen %q: %v", c.Listen, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("listen %q: %q is not a port number", c.Listen, port)
	}
	if strings.ContainsAny(c.DB, "?#") {
		bad("db %q: the path may not contain ? or #", c.DB)
	}
	checkURL := func(name, s string) {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("%s %q: want an absolute http(s) URL without query", name, s)
		}
	}
	checkURL("public-url", c.PublicURL)
	checkURL("influx-url", c.InfluxURL)
	if c.InfluxOrg == "" && c.InfluxToken != "" && !strings.Contains(string(c.InfluxToken), ":") {
		bad("influx-token: InfluxDB 1.x (no influx-org) takes \"user:password\"")
	}
	if strings.ContainsAny(c.InfluxBucket, "\"\\\n") || strings.Count(c.InfluxBucket, "/") > 1 {
		bad("influx-bucket %q: want a name, or database/retention-policy for 1.x", c.InfluxBucket)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		bad("log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		bad("timezone %q: %v", c.Timezone, err)
	}
	c.validateOpenData(bad)
	c.validateProvision(bad)
	c.validateMap(bad)
	c.validateDashboards(bad)
	return errors.Join(errs...)
}

// option is one setting: its flag, its environment variable, its default.
type option struct {
	flag, env, arg, def, help string
	str                       *string
	boolean                   *bool
}

func options(c *config) []option {
	return []option{
		{"listen", "REGISTRY_LISTEN", "addr", defaultListen, "TCP address to serve HTTP on (port 0: any free port)", &c.Listen, nil},
		{"db", "REGISTRY_DB", "path", defaultDB, "SQLite file of the register (its folders are created)", &c.DB, nil},
		{"demo", "REGISTRY_DEMO", "", "false", "seed the demo town when the register has no entry", nil, &c.Demo},
		{"public-url", "REGISTRY_PUBLIC_URL", "url", defaultPublicURL, "base of the entries' stable public URLs", &c.PublicURL, nil},
		{"influx-url", "INFLUX_URL", "url", defaultInfluxURL, "InfluxDB to read the latest readings from", &c.InfluxURL, nil},
		{"influx-token", "INFLUX_TOKEN", "token", "", "InfluxDB token; \"user:password\" for 1.x; empty: no authentication", (*string)(&c.InfluxToken), nil},
		{"influx-org", "INFLUX_ORG", "org", "", "InfluxDB 2.x organisation; empty: InfluxDB 1.x", &c.InfluxOrg, nil},
		{"influx-bucket", "INFLUX_BUCKET", "name", defaultInfluxBucket, "2.x bucket, or 1.x database (read in its \"autogen\" policy unless \"db/policy\")", &c.InfluxBucket, nil},
		{"log-level", "REGISTRY_LOG_LEVEL", "level", defaultLogLevel, "debug, info, warn or error (the access log is at debug)", &c.LogLevel, nil},
		{"timezone", "REGISTRY_TIMEZONE", "zone", defaultTimezone, "IANA time zone of the times shown on pages", &c.Timezone, nil},
		{"open-data-licence", "REGISTRY_OPEN_DATA_LICENCE", "name", opendata.LicenceOuverte.Name, "licence of the register's open data (CSV, GeoJSON, DCAT-AP)", &c.OpenDataLicence, nil},
		{"open-data-licence-url", "REGISTRY_OPEN_DATA_LICENCE_URL", "url", "", "the licence's text; default: Etalab's, for the Licence Ouverte", &c.OpenDataLicenceURL, nil},
		{"publisher-name", "REGISTRY_PUBLISHER_NAME", "name", "", "publisher of the DCAT-AP record; empty: the accountable organisation most entries name", &c.PublisherName, nil},
		{"publisher-url", "REGISTRY_PUBLISHER_URL", "url", "", "the publisher's web site", &c.PublisherURL, nil},
		{"import-max-size", "REGISTRY_IMPORT_MAX_SIZE", "size", defaultImportMaxSize, "largest body of POST /api/v1/import (413 beyond)", &c.ImportMaxSize, nil},
		{"territory-name", envTerritoryName, "name", "", "the territory's name, e.g. \"Commune de Valmont-sur-Lise\" (-demo: the demo town's)", &c.TerritoryName, nil},
		{"territory-bbox", envTerritoryBBox, "box", "", "minLon,minLat,maxLon,maxLat: publication refuses places outside; empty: not checked", &c.TerritoryBBox, nil},
		{"functional-contact", envFunctionalContact, "email", "", "the organisation's functional mailbox; refuses public contacts that look personal", &c.FunctionalContact, nil},
		{"gateway-token", "REGISTRY_GATEWAY_TOKEN", "token", "", "ensure this API token (cvs_…) of role gateway, named bootstrap-gateway", (*string)(&c.GatewayToken), nil},
		{"demo-bridge-password", "REGISTRY_DEMO_BRIDGE_PASSWORD", "password", "", "with -demo: ensure the demo's firmware bridge simulateur (MQTT user bridge.simulateur) with this password, assigned every demo sensor", (*string)(&c.DemoBridgePassword), nil},
		{"max-body-size", "REGISTRY_MAX_BODY_SIZE", "size", defaultMaxBodySize, "largest request body but an import's (413 beyond)", &c.MaxBodySize, nil},
		{"map-tiles", "REGISTRY_MAP_TILES", "url", defaultMapTiles, "URL template of the map's OpenStreetMap-compatible tile server ({z}, {x}, {y}, optional {s})", &c.MapTiles, nil},
		{"map-attribution", "REGISTRY_MAP_ATTRIBUTION", "html", "", "credit of the map's tiles (HTML); default: OpenStreetMap's, for the default tiles", &c.MapAttribution, nil},
		{"dashboards-temperature-sensor", "REGISTRY_DASHBOARDS_TEMPERATURE_SENSOR", "id", "", "sensor whose hourly temperature gives the energy dashboard's degree days; empty: the first air sensor (by id) with temperature aggregates", &c.DashboardsTemperatureSensor, nil},
		{"aasqa-url", "REGISTRY_AASQA_URL", "url", "", "the regional AASQA's official air quality index, linked from the air dashboard; empty: " + httpapi.DefaultAASQAURL, &c.AASQAURL, nil},
		{"dashboards-settled-after", "REGISTRY_DASHBOARDS_SETTLED_AFTER", "duration", "", "how long after a day ends the energy dashboards keep what they read of it (8d, 36h; off: nothing kept); empty: 8d, the gateway's -max-past default and a day", &c.DashboardsSettledAfter, nil},
	}
}

// usage writes the help: every flag with its environment variable and
// default.
func usage(w io.Writer) {
	fmt.Fprintf(w, `Usage: registry [flags]
       registry admin create -username NAME [-role ROLE] [-generate] [-db path]
       registry import [-dry-run] [-reason TEXT] [-json] [-db path] FILE.csv|FILE.geojson

civisens-registry is the register of sensors: the public register (HTML, in
French and English, and JSON), and the allow-list that the gateway pulls.

"registry admin create" creates an account in the database, e.g. the first
administrator of a fresh register; see "registry admin create --help".
"registry import" imports an inventory of sensors; see "registry import --help".

Every flag can also be set by its environment variable; the flag wins.

`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  flag\tenvironment\tdefault\tmeaning")
	var c config
	for _, o := range options(&c) {
		name := "-" + o.flag
		if o.arg != "" {
			name += " " + o.arg
		}
		def := o.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", name, o.env, def, o.help)
	}
	fmt.Fprintf(tw, "  -help\t\t\tshow this help\n")
	fmt.Fprintf(tw, "  -version\t\t\tprint the version\n")
	tw.Flush()
}

// parseConfig reads the configuration from args, then from the
// environment for what args do not set. It answers --help and --version
// itself (on stdout) with errDone; a bad command line or configuration is
// reported on stderr, with the usage, as an errUsage.
func parseConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	opts := options(&c)
	for _, o := range opts {
		if o.boolean != nil {
			fs.BoolVar(o.boolean, o.flag, false, o.help)
		} else {
			fs.StringVar(o.str, o.flag, o.def, o.help)
		}
	}
	showVersion := fs.Bool("version", false, "print the version")
	fail := func(err error) (config, error) {
		fmt.Fprintf(stderr, "registry: %v\n\n", err)
		usage(stderr)
		return config{}, fmt.Errorf("%w: %w", errUsage, err)
	}

	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return config{}, errDone
	case err != nil:
		return fail(err)
	case fs.NArg() > 0:
		return fail(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case *showVersion:
		fmt.Fprintf(stdout, "civisens-registry %s\n", version)
		return config{}, errDone
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, o := range opts {
		v := getenv(o.env)
		if set[o.flag] || v == "" {
			continue
		}
		if o.boolean != nil {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fail(fmt.Errorf("%s=%q: want true or false", o.env, v))
			}
			*o.boolean = b
			continue
		}
		*o.str = v
	}
	if err := c.Validate(); err != nil {
		return fail(err)
	}
	return c.withDefaults(), nil
}
