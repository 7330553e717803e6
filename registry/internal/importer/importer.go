// Package importer imports an existing inventory of sensors into the
// register, from a CSV file or a GeoJSON file in the open-data mapping of
// package opendata (so that an export of the register imports back as a
// no-op), with a dry run that says, row by row, what the import would do.
//
// # What a row does
//
// Each CSV line (or GeoJSON feature) is one entry, found in the register by
// its source reference (the column or property "source_ref": the entry's
// reference in the inventory it comes from, e.g. an asset number) or else by
// its id, and then:
//
//   - create: no entry has this source reference or id; the row must give
//     an id (^[a-z0-9][a-z0-9-]{2,62}$) and a category;
//   - update: the entry exists and the row changes it: a new version, with
//     the reason "import <file>" (or the one given) and the importer's
//     role; the fields the file does not give (a column it lacks, a
//     property a feature lacks) keep their value, and version, updated_at
//     and url are never taken from the file;
//   - unchanged: the entry already says what the row says; nothing is
//     written, so importing the same file twice changes nothing the second
//     time;
//   - refused: nothing is written, and the report lists every problem of
//     the row.
//
// A row is refused when a cell does not read (a number, a date, a list
// syntax); when its id, category or status is not valid; when it claims a
// published state (active, maintenance, retired) and the entry would not
// pass the publication rules (catalog.CheckPublishable: every missing or
// contradictory field is listed); when its lifecycle move is not allowed
// (catalog.CheckTransition: a draft is published as active first, a
// published entry cannot go back to draft, a retired one stays retired);
// when its id or source reference appears on another row of the
// file too (every such row is refused: the import does not guess which is
// right); or when its source reference and id point at different entries.
// A new entry without a status is a draft; an empty status keeps an
// existing entry's. A draft needs no more than a valid
// id, category and readable cells: it is published later, when complete.
//
// # Transactions
//
// The dry run (Options.DryRun) reads the register and writes nothing. The
// import itself plans the same way, then writes each row that creates or
// updates in its own transaction (the entry's version and its source
// reference together): a row either imports whole or leaves no trace, and
// a broken row does not stop the good ones. Rows are independent, so
// fixing the refused rows and importing the same file again completes the
// import, the rows already imported being unchanged. A file that cannot be
// read at all (bad CSV quoting, a line with the wrong number of fields, an
// unknown column, text that is not UTF-8, JSON that is not GeoJSON) is
// refused as a whole, with its line, before anything is planned.
package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// Store is what an import needs of the register's store; *store.Store
// provides it.
type Store interface {
	List(ctx context.Context, statuses ...string) ([]registryapi.Sensor, error)
	SourceRefs(ctx context.Context) (map[string]string, error)
	Import(ctx context.Context, im store.Imported, ch store.Change) (registryapi.Sensor, error)
}

// Format is the format of an import file.
type Format string

// Formats.
const (
	CSV     Format = "csv"
	GeoJSON Format = "geojson"
)

// ErrFormat is the kind of the error of a file whose format is not known.
var ErrFormat = errors.New("unknown import format: want CSV (text/csv, .csv) or GeoJSON (application/geo+json, .geojson)")

// FormatOfName returns the format of a file from its name's extension:
// .csv, or .geojson (or .json).
func FormatOfName(name string) (Format, error) {
	switch strings.ToLower(path.Ext(name)) {
	case ".csv":
		return CSV, nil
	case ".geojson", ".json":
		return GeoJSON, nil
	}
	return "", fmt.Errorf("%s: %w", name, ErrFormat)
}

// FormatOfMediaType returns the format of a body from its Content-Type:
// text/csv, or application/geo+json (or application/json).
func FormatOfMediaType(contentType string) (Format, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("Content-Type %q: %w", contentType, ErrFormat)
	}
	switch mt {
	case "text/csv":
		return CSV, nil
	case "application/geo+json", "application/json":
		return GeoJSON, nil
	}
	return "", fmt.Errorf("Content-Type %q: %w", contentType, ErrFormat)
}

// Read reads an import file. A file that cannot be read at all fails with
// an opendata.ErrMalformed error naming the line.
func Read(f Format, data []byte) ([]opendata.Record, error) {
	switch f {
	case CSV:
		return opendata.ReadCSV(strings.NewReader(string(data)))
	case GeoJSON:
		return opendata.ReadGeoJSON(data)
	}
	return nil, ErrFormat
}

// Options are the settings of one import.
type Options struct {
	// File is the name of the file imported, shown in the report and
	// recorded with the source references.
	File string
	// DryRun plans the import and writes nothing.
	DryRun bool
	// Change says who imports (role and account); its Reason defaults to
	// "import <File>".
	Change store.Change
	// Territory is what the publication rules check published rows
	// against.
	Territory catalog.Territory
}

// Run imports records into st (or plans it, for a dry run) and reports
// what it did with each. The error is for the register itself failing
// (reading it); a row that cannot be written is refused in the report.
func Run(ctx context.Context, st Store, records []opendata.Record, o Options) (registryapi.ImportReport, error) {
	if o.Change.Reason == "" {
		o.Change.Reason = "import " + o.File
	}
	report := registryapi.ImportReport{File: o.File, DryRun: o.DryRun, Rows: []registryapi.ImportRow{}}
	all, err := st.List(ctx)
	if err != nil {
		return report, fmt.Errorf("import: %w", err)
	}
	refs, err := st.SourceRefs(ctx)
	if err != nil {
		return report, fmt.Errorf("import: %w", err)
	}
	p := planner{
		existing:  map[string]registryapi.Sensor{},
		refs:      refs,
		refOf:     map[string]string{},
		idLines:   map[string][]int{},
		refLines:  map[string][]int{},
		territory: o.Territory,
	}
	for _, s := range all {
		p.existing[s.ID] = s
	}
	for ref, id := range refs {
		p.refOf[id] = ref
	}
	for _, r := range records {
		if r.ID != "" {
			p.idLines[r.ID] = append(p.idLines[r.ID], r.Line)
		}
		if r.SourceRef != "" {
			p.refLines[r.SourceRef] = append(p.refLines[r.SourceRef], r.Line)
		}
	}

	for _, r := range records {
		row, pl := p.plan(r)
		if !o.DryRun && pl.write {
			out, err := st.Import(ctx, store.Imported{Sensor: pl.sensor, Create: pl.create, SourceRef: r.SourceRef, File: o.File}, o.Change)
			if err != nil {
				if ctx.Err() != nil {
					return report, fmt.Errorf("import: %w", ctx.Err())
				}
				row.Action, row.Changes, row.Version = registryapi.ImportRefused, nil, 0
				row.Reasons = append(row.Reasons, registryapi.FieldError{Field: "", Message: writeMessage(err)})
			} else {
				row.Version = out.Version
			}
		}
		report.Rows = append(report.Rows, row)
		switch row.Action {
		case registryapi.ImportCreate:
			report.Created++
		case registryapi.ImportUpdate:
			report.Updated++
		case registryapi.ImportUnchanged:
			report.Unchanged++
		case registryapi.ImportRefused:
			report.Refused++
		}
	}
	return report, nil
}

// writeMessage says why a row's write failed, without the store's
// internals for errors it does not know.
func writeMessage(err error) string {
	switch {
	case errors.Is(err, store.ErrConflict):
		return "the entry was changed by someone else during the import; import the file again"
	case errors.Is(err, store.ErrExists):
		return "an entry with this id was created by someone else during the import; import the file again"
	case errors.Is(err, store.ErrSourceRef), errors.Is(err, store.ErrInvalid):
		_, msg, _ := strings.Cut(err.Error(), "store: ")
		return msg
	}
	return "the register could not write this row; nothing of it was written"
}

type planner struct {
	existing  map[string]registryapi.Sensor
	refs      map[string]string // source ref → id
	refOf     map[string]string // id → source ref
	idLines   map[string][]int
	refLines  map[string][]int
	territory catalog.Territory
}

// plan is what a row would write.
type plan struct {
	write  bool
	create bool
	sensor registryapi.Sensor
}

func (p *planner) plan(r opendata.Record) (registryapi.ImportRow, plan) {
	row := registryapi.ImportRow{Line: r.Line, ID: r.ID, SourceRef: r.SourceRef}
	var reasons []registryapi.FieldError
	bad := func(field, format string, args ...any) {
		reasons = append(reasons, registryapi.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	refuse := func() (registryapi.ImportRow, plan) {
		row.Action, row.Reasons, row.Changes = registryapi.ImportRefused, reasons, nil
		return row, plan{}
	}

	// Which entry the row is.
	target := ""
	if id, ok := p.refs[r.SourceRef]; ok && r.SourceRef != "" {
		target = id
		if r.ID != "" && r.ID != id {
			bad("id", "source_ref %q is entry %s, not %s", r.SourceRef, id, r.ID)
		}
	} else if _, ok := p.existing[r.ID]; ok {
		target = r.ID
		if ref := p.refOf[r.ID]; ref != "" && r.SourceRef != "" && ref != r.SourceRef {
			bad("source_ref", "entry %s was imported with source_ref %q, not %q", r.ID, ref, r.SourceRef)
		}
	}
	if row.ID == "" {
		row.ID = target
	}
	if lines := p.idLines[r.ID]; r.ID != "" && len(lines) > 1 {
		bad("id", "%s is also on line %s of the file", r.ID, otherLines(lines, r.Line))
	}
	if lines := p.refLines[r.SourceRef]; r.SourceRef != "" && len(lines) > 1 {
		bad("source_ref", "%q is also on line %s of the file", r.SourceRef, otherLines(lines, r.Line))
	}

	base, exists := p.existing[target]
	s, problems := r.Merge(base)
	reasons = append(reasons, problems...)
	s = normalize(s)
	if exists && r.ID == "" {
		s.ID = base.ID // matched by source_ref, the row names no id
	}
	if !exists {
		s.Version, s.UpdatedAt, s.URL = 0, time.Time{}, ""
	}
	if s.Status == "" {
		s.Status = base.Status // an empty status keeps the entry's
	}
	if s.Status == "" {
		s.Status = registryapi.StatusDraft
	}
	row.Status = s.Status

	// What it claims.
	if !exists && s.ID == "" {
		bad("id", "is required for a new entry")
	}
	if s.ID != "" && !catalog.ValidSensorID(s.ID) {
		bad("id", "%q is not a sensor id: ^[a-z0-9][a-z0-9-]{2,62}$", s.ID)
	}
	if !catalog.ValidCategory(s.Category) {
		bad("category", "%q is not one of %s", s.Category, strings.Join(registryapi.Categories, ", "))
	}
	if !catalog.ValidStatus(s.Status) {
		bad("status", "%q is not one of %s", s.Status, strings.Join(catalog.Statuses(), ", "))
	} else if exists {
		if pb := catalog.CheckTransition(base.Status, s.Status); pb != nil {
			reasons = append(reasons, pb.In(catalog.LangEN))
		}
	}
	if catalog.Published(s.Status) {
		// Every rule the entry breaks, but those of a field already
		// refused above (an unreadable date is not also "required").
		named := map[string]bool{}
		for _, e := range reasons {
			named[topField(e.Field)] = true
		}
		for _, e := range catalog.CheckPublishable(s, p.territory) {
			if !named[topField(e.Field)] {
				reasons = append(reasons, e)
			}
		}
	}
	if len(reasons) > 0 {
		return refuse()
	}

	if !exists {
		row.Action, row.Version = registryapi.ImportCreate, 1
		return row, plan{write: true, create: true, sensor: s}
	}
	changes := changedFields(normalize(base), s)
	newRef := r.SourceRef != "" && p.refOf[target] == ""
	switch {
	case len(changes) > 0:
		row.Action, row.Changes, row.Version = registryapi.ImportUpdate, changes, base.Version+1
	case newRef:
		row.Action, row.Changes, row.Version = registryapi.ImportUpdate, []string{"source_ref"}, base.Version
	default:
		row.Action, row.Version = registryapi.ImportUnchanged, base.Version
		return row, plan{}
	}
	return row, plan{write: true, sensor: s}
}

// topField is the top-level field of a field path ("location.area[2]" →
// "location"), with a CSV column named as its field ("lat" → "location").
func topField(f string) string {
	if i := strings.IndexAny(f, ".["); i >= 0 {
		f = f[:i]
	}
	switch f {
	case "lat", "lon", "address", "indoor", "area", "neighbourhood":
		return "location"
	}
	return f
}

func otherLines(lines []int, self int) string {
	var out []string
	for _, l := range lines {
		if l != self {
			out = append(out, fmt.Sprint(l))
		}
	}
	return strings.Join(out, ", ")
}

// normalize gives the fields that JSON may write two ways one form: the
// lists every entry has are [] rather than null, empty maps and areas are
// absent, and times are in UTC.
func normalize(s registryapi.Sensor) registryapi.Sensor {
	for _, l := range []*[]string{&s.Technology, &s.Purposes, &s.DataTypes, &s.Processing, &s.Storage, &s.Access} {
		if *l == nil {
			*l = []string{}
		}
	}
	if s.Quantities == nil {
		s.Quantities = []registryapi.Quantity{}
	}
	if len(s.Tags) == 0 {
		s.Tags = nil
	}
	if len(s.Operators) == 0 {
		s.Operators = nil
	}
	if len(s.Location.Area) == 0 {
		s.Location.Area = nil
	}
	for _, t := range []**time.Time{&s.CommissionedAt, &s.DecommissionedAt, &s.ActiveUntil} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return s
}

// changedFields returns the JSON names of the top-level fields that differ
// between a and b, sorted, bookkeeping (version, updated_at, url) aside.
func changedFields(a, b registryapi.Sensor) []string {
	fields := func(s registryapi.Sensor) map[string]json.RawMessage {
		s.Version, s.UpdatedAt, s.URL = 0, time.Time{}, ""
		doc, _ := json.Marshal(s) // a Sensor always encodes
		var m map[string]json.RawMessage
		_ = json.Unmarshal(doc, &m)
		return m
	}
	fa, fb := fields(a), fields(b)
	var changed []string
	for _, k := range slices.Sorted(maps.Keys(fb)) {
		if string(fa[k]) != string(fb[k]) {
			changed = append(changed, k)
		}
	}
	for k := range fa {
		if _, ok := fb[k]; !ok {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return changed
}

// WriteText writes the report for a person: one line per row (line, id,
// action, changes), its reasons indented below, then the totals.
func WriteText(w io.Writer, r registryapi.ImportReport) error {
	var b strings.Builder
	verb := "imported"
	if r.DryRun {
		verb = "dry run (nothing written)"
	}
	fmt.Fprintf(&b, "%s: %s\n", r.File, verb)
	for _, row := range r.Rows {
		id := row.ID
		if id == "" {
			id = "(no id)"
		}
		fmt.Fprintf(&b, "line %d\t%s\t%s", row.Line, id, row.Action)
		if row.SourceRef != "" {
			fmt.Fprintf(&b, "\tsource_ref=%s", row.SourceRef)
		}
		if len(row.Changes) > 0 {
			fmt.Fprintf(&b, "\tchanges: %s", strings.Join(row.Changes, ", "))
		}
		b.WriteByte('\n')
		for _, e := range row.Reasons {
			if e.Field != "" {
				fmt.Fprintf(&b, "\t%s: %s\n", e.Field, e.Message)
			} else {
				fmt.Fprintf(&b, "\t%s\n", e.Message)
			}
		}
	}
	fmt.Fprintf(&b, "%d created, %d updated, %d unchanged, %d refused\n", r.Created, r.Updated, r.Unchanged, r.Refused)
	_, err := io.WriteString(w, b.String())
	return err
}
