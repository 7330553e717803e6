package opendata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civisens/civisens/registry/registryapi"
)

// ColumnSourceRef is the column that an import file may add to the
// exported ones: the entry's reference in the inventory it comes from.
// Exports never write it.
const ColumnSourceRef = "source_ref"

// column maps one CSV column to a field of an entry.
type column struct {
	name string
	// plain columns hold values that this package formats itself
	// (numbers, booleans, times, bookkeeping) and that no formula
	// protection touches.
	plain bool
	// bookkeeping columns are written by the register (version,
	// updated_at, url): exported, and ignored when an import merges a row
	// into an existing entry.
	bookkeeping bool
	get         func(s *registryapi.Sensor) string
	set         func(s *registryapi.Sensor, v string) error
}

func strCol(name string, f func(*registryapi.Sensor) *string) column {
	return column{name: name,
		get: func(s *registryapi.Sensor) string { return *f(s) },
		set: func(s *registryapi.Sensor, v string) error { *f(s) = v; return nil }}
}

func textCols(name string, f func(*registryapi.Sensor) *registryapi.Text) []column {
	return []column{
		strCol(name+"_fr", func(s *registryapi.Sensor) *string { return &f(s).FR }),
		strCol(name+"_en", func(s *registryapi.Sensor) *string { return &f(s).EN }),
	}
}

func listCol(name string, f func(*registryapi.Sensor) *[]string) column {
	return column{name: name,
		get: func(s *registryapi.Sensor) string { return joinList(*f(s)) },
		set: func(s *registryapi.Sensor, v string) error {
			l, err := splitList(v)
			if l == nil {
				l = []string{} // the JSON of an entry always has these lists
			}
			*f(s) = l
			return err
		}}
}

func boolCol(name string, f func(*registryapi.Sensor) *bool) column {
	return column{name: name, plain: true,
		get: func(s *registryapi.Sensor) string { return formatBool(*f(s)) },
		set: func(s *registryapi.Sensor, v string) (err error) { *f(s), err = parseBool(v); return err }}
}

func floatCol(name string, f func(*registryapi.Sensor) *float64) column {
	return column{name: name, plain: true,
		get: func(s *registryapi.Sensor) string { return formatFloat(*f(s)) },
		set: func(s *registryapi.Sensor, v string) error {
			if v == "" {
				*f(s) = 0
				return nil
			}
			x, err := parseFloat(v)
			*f(s) = x
			return err
		}}
}

func optTimeCol(name string, f func(*registryapi.Sensor) **time.Time) column {
	return column{name: name, plain: true,
		get: func(s *registryapi.Sensor) string { return formatOptTime(*f(s)) },
		set: func(s *registryapi.Sensor, v string) (err error) { *f(s), err = parseOptTime(v); return err }}
}

// Shapes of the structured cells, as errors and the README name them.
const (
	quantityShape = "name;unit;min;max;period_s;label_fr;label_en[;aggregation]"
	operatorShape = "name_fr;name_en;siren;url;public_authority"
	positionShape = "lon;lat"
)

// columns is the CSV mapping of an entry, in file order. Changing it is
// changing the open-data contract: add columns, never rename them.
var columns = slices.Concat(
	// Identity.
	[]column{
		strCol("id", func(s *registryapi.Sensor) *string { return &s.ID }),
		strCol("status", func(s *registryapi.Sensor) *string { return &s.Status }),
	},
	textCols("name", func(s *registryapi.Sensor) *registryapi.Text { return &s.Name }),
	[]column{
		strCol("category", func(s *registryapi.Sensor) *string { return &s.Category }),
		listCol("technology", func(s *registryapi.Sensor) *[]string { return &s.Technology }),
		strCol("manufacturer", func(s *registryapi.Sensor) *string { return &s.Manufacturer }),
		strCol("model", func(s *registryapi.Sensor) *string { return &s.Model }),
	},
	textCols("attached_to", func(s *registryapi.Sensor) *registryapi.Text { return &s.AttachedTo }),
	[]column{
		strCol("site", func(s *registryapi.Sensor) *string { return &s.Site }),
		{name: "tags",
			get: func(s *registryapi.Sensor) string { return joinTags(s.Tags) },
			set: func(s *registryapi.Sensor, v string) (err error) { s.Tags, err = splitTags(v); return err }},
	},
	// Who.
	textCols("accountable_name", func(s *registryapi.Sensor) *registryapi.Text { return &s.Accountable.Name }),
	[]column{
		strCol("accountable_siren", func(s *registryapi.Sensor) *string { return &s.Accountable.SIREN }),
		strCol("accountable_url", func(s *registryapi.Sensor) *string { return &s.Accountable.URL }),
		boolCol("accountable_public_authority", func(s *registryapi.Sensor) *bool { return &s.Accountable.PublicAuthority }),
		{name: "operators", get: getOperators, set: setOperators},
		strCol("public_contact_email", func(s *registryapi.Sensor) *string { return &s.PublicContact.Email }),
		strCol("public_contact_url", func(s *registryapi.Sensor) *string { return &s.PublicContact.URL }),
		strCol("public_contact_phone", func(s *registryapi.Sensor) *string { return &s.PublicContact.Phone }),
		strCol("dpo_contact_email", func(s *registryapi.Sensor) *string { return &s.DPOContact.Email }),
		strCol("dpo_contact_url", func(s *registryapi.Sensor) *string { return &s.DPOContact.URL }),
		strCol("dpo_contact_phone", func(s *registryapi.Sensor) *string { return &s.DPOContact.Phone }),
		// Why.
		listCol("purposes", func(s *registryapi.Sensor) *[]string { return &s.Purposes }),
	},
	textCols("description", func(s *registryapi.Sensor) *registryapi.Text { return &s.Description }),
	// What.
	[]column{
		{name: "quantities", get: getQuantities, set: setQuantities},
		listCol("data_types", func(s *registryapi.Sensor) *[]string { return &s.DataTypes }),
		listCol("processing", func(s *registryapi.Sensor) *[]string { return &s.Processing }),
		// Identifiability and legal basis.
		strCol("identifiability", func(s *registryapi.Sensor) *string { return &s.Identifiability }),
	},
	textCols("deidentification_method", func(s *registryapi.Sensor) *registryapi.Text { return &s.DeidentificationMethod }),
	[]column{
		strCol("legal_basis", func(s *registryapi.Sensor) *string { return &s.LegalBasis }),
	},
	textCols("legal_reference", func(s *registryapi.Sensor) *registryapi.Text { return &s.LegalReference }),
	[]column{
		strCol("privacy_notice_url", func(s *registryapi.Sensor) *string { return &s.PrivacyNoticeURL }),
		strCol("art30_record", func(s *registryapi.Sensor) *string { return &s.Art30Record }),
		strCol("dpia_reference", func(s *registryapi.Sensor) *string { return &s.DPIAReference }),
		// Data.
		listCol("storage", func(s *registryapi.Sensor) *[]string { return &s.Storage }),
	},
	textCols("storage_location", func(s *registryapi.Sensor) *registryapi.Text { return &s.StorageLocation }),
	[]column{
		strCol("retention", func(s *registryapi.Sensor) *string { return &s.Retention }),
		listCol("access", func(s *registryapi.Sensor) *[]string { return &s.Access }),
		boolCol("open_data", func(s *registryapi.Sensor) *bool { return &s.OpenData }),
		strCol("open_data_licence", func(s *registryapi.Sensor) *string { return &s.OpenDataLicence }),
		strCol("open_data_url", func(s *registryapi.Sensor) *string { return &s.OpenDataURL }),
		// Where.
		floatCol("lat", func(s *registryapi.Sensor) *float64 { return &s.Location.Lat }),
		floatCol("lon", func(s *registryapi.Sensor) *float64 { return &s.Location.Lon }),
		strCol("address", func(s *registryapi.Sensor) *string { return &s.Location.Address }),
		boolCol("indoor", func(s *registryapi.Sensor) *bool { return &s.Location.Indoor }),
		{name: "area", get: getArea, set: setArea},
		strCol("neighbourhood", func(s *registryapi.Sensor) *string { return &s.Location.Neighbourhood }),
		// Lifecycle.
		optTimeCol("commissioned_at", func(s *registryapi.Sensor) **time.Time { return &s.CommissionedAt }),
		optTimeCol("decommissioned_at", func(s *registryapi.Sensor) **time.Time { return &s.DecommissionedAt }),
		optTimeCol("active_until", func(s *registryapi.Sensor) **time.Time { return &s.ActiveUntil }),
		{name: "version", plain: true, bookkeeping: true,
			get: func(s *registryapi.Sensor) string { return formatInt(s.Version) },
			set: func(s *registryapi.Sensor, v string) (err error) { s.Version, err = parseInt(v); return err }},
		{name: "updated_at", plain: true, bookkeeping: true,
			get: func(s *registryapi.Sensor) string { return formatTime(s.UpdatedAt) },
			set: func(s *registryapi.Sensor, v string) (err error) {
				s.UpdatedAt = time.Time{}
				if v != "" {
					s.UpdatedAt, err = parseTime(v)
				}
				return err
			}},
		{name: "url", plain: true, bookkeeping: true,
			get: func(s *registryapi.Sensor) string { return s.URL },
			set: func(s *registryapi.Sensor, v string) error { s.URL = v; return nil }},
	},
)

// Columns returns the names of the CSV columns, in file order.
func Columns() []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}

func columnByName(name string) (column, bool) {
	i := slices.IndexFunc(columns, func(c column) bool { return c.name == name })
	if i < 0 {
		return column{}, false
	}
	return columns[i], true
}

func getQuantities(s *registryapi.Sensor) string {
	items := make([][]string, len(s.Quantities))
	for i, q := range s.Quantities {
		period := ""
		if q.PeriodSeconds != 0 {
			period = formatInt(q.PeriodSeconds)
		}
		items[i] = []string{q.Name, q.Unit, formatOptFloat(q.Min), formatOptFloat(q.Max), period, q.Label.FR, q.Label.EN}
		if q.Aggregation != "" {
			items[i] = append(items[i], q.Aggregation)
		}
	}
	return joinRecords(items)
}

func setQuantities(s *registryapi.Sensor, v string) error {
	items, err := splitRecords(v, 5, 8, quantityShape)
	if err != nil {
		return err
	}
	s.Quantities = []registryapi.Quantity{}
	for i, p := range items {
		p = append(p, "", "", "")[:8]
		q := registryapi.Quantity{Name: p[0], Unit: p[1], Label: registryapi.Text{FR: p[5], EN: p[6]}, Aggregation: p[7]}
		if q.Min, err = parseOptFloat(p[2]); err != nil {
			return fmt.Errorf("item %d, min: %w", i+1, err)
		}
		if q.Max, err = parseOptFloat(p[3]); err != nil {
			return fmt.Errorf("item %d, max: %w", i+1, err)
		}
		if q.PeriodSeconds, err = parseInt(p[4]); err != nil {
			return fmt.Errorf("item %d, period_s: %w", i+1, err)
		}
		s.Quantities = append(s.Quantities, q)
	}
	return nil
}

func getOperators(s *registryapi.Sensor) string {
	items := make([][]string, len(s.Operators))
	for i, o := range s.Operators {
		items[i] = []string{o.Name.FR, o.Name.EN, o.SIREN, o.URL, formatBool(o.PublicAuthority)}
	}
	return joinRecords(items)
}

func setOperators(s *registryapi.Sensor, v string) error {
	items, err := splitRecords(v, 5, 5, operatorShape)
	if err != nil {
		return err
	}
	s.Operators = nil
	for i, p := range items {
		o := registryapi.Organisation{Name: registryapi.Text{FR: p[0], EN: p[1]}, SIREN: p[2], URL: p[3]}
		if o.PublicAuthority, err = parseBool(p[4]); err != nil {
			return fmt.Errorf("item %d, public_authority: %w", i+1, err)
		}
		s.Operators = append(s.Operators, o)
	}
	return nil
}

func getArea(s *registryapi.Sensor) string {
	items := make([][]string, len(s.Location.Area))
	for i, pos := range s.Location.Area {
		items[i] = []string{formatFloat(pos[0]), formatFloat(pos[1])}
	}
	return joinRecords(items)
}

func setArea(s *registryapi.Sensor, v string) error {
	items, err := splitRecords(v, 2, 2, positionShape)
	if err != nil {
		return err
	}
	s.Location.Area = nil
	for i, p := range items {
		lon, err := parseFloat(p[0])
		if err != nil {
			return fmt.Errorf("item %d, lon: %w", i+1, err)
		}
		lat, err := parseFloat(p[1])
		if err != nil {
			return fmt.Errorf("item %d, lat: %w", i+1, err)
		}
		s.Location.Area = append(s.Location.Area, [2]float64{lon, lat})
	}
	return nil
}

// WriteCSV writes sensors as CSV (RFC 4180: comma-separated, fields quoted
// when needed, CRLF line ends; UTF-8 without a byte order mark): a header
// line of Columns, then one line per entry, in the order given.
func WriteCSV(w io.Writer, sensors []registryapi.Sensor) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(Columns()); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	row := make([]string, len(columns))
	for i := range sensors {
		for j, c := range columns {
			v := c.get(&sensors[i])
			if !c.plain {
				v = protect(normalizeNewlines(v))
			}
			row[j] = v
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("csv: %s: %w", sensors[i].ID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return nil
}

// ErrMalformed is the kind of the errors of a file that cannot be read at
// all: bad CSV quoting, a wrong number of fields, an unknown column, text
// that is not UTF-8, JSON that is not GeoJSON.
var ErrMalformed = errors.New("malformed file")

// FileError is an error of a whole file, at a line.
type FileError struct {
	Line int    // 1-based
	Msg  string // what is wrong, in words
}

func (e *FileError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Unwrap makes every FileError an ErrMalformed.
func (e *FileError) Unwrap() error { return ErrMalformed }

func fileErr(line int, format string, args ...any) error {
	return &FileError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ReadCSV reads a CSV file in the mapping that WriteCSV writes: a header
// line naming the columns (any subset of Columns, in any order, plus
// ColumnSourceRef; "id" is required), then one entry per line. A UTF-8
// byte order mark is skipped. Blank lines, and lines whose every field is
// empty, are skipped.
//
// A file that cannot be read as a whole fails with a *FileError (an
// ErrMalformed) naming the line: bad quoting, a line with more or fewer
// fields than the header, an unknown or repeated column, text that is not
// UTF-8. A cell that does not read as its column says (a number, a date…)
// is a problem of its Record, not of the file.
func ReadCSV(r io.Reader) ([]Record, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fileErr(1, "the file is empty: the first line must name the columns (id, name_fr, …)")
	}
	if err != nil {
		return nil, csvError(err, nil, 0)
	}
	cols := make([]column, len(header))
	seen := map[string]bool{}
	for i, name := range header {
		if !utf8.ValidString(name) {
			return nil, fileErr(1, "column %d: the file is not UTF-8 text: save it as CSV UTF-8", i+1)
		}
		if seen[name] {
			return nil, fileErr(1, "column %q appears twice", name)
		}
		seen[name] = true
		if name == ColumnSourceRef {
			cols[i] = column{name: name, set: func(*registryapi.Sensor, string) error { return nil }}
			continue
		}
		c, ok := columnByName(name)
		if !ok {
			return nil, fileErr(1, "column %d %q is not a column of the register (see the README for the columns)", i+1, name)
		}
		cols[i] = c
	}
	if !seen["id"] {
		return nil, fileErr(1, `the header has no "id" column`)
	}

	var out []Record
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err, rec, len(header))
		}
		line, _ := cr.FieldPos(0)
		if !slices.ContainsFunc(rec, func(v string) bool { return v != "" }) {
			continue
		}
		r := Record{Line: line, cells: map[string]string{}}
		for i, v := range rec {
			if !utf8.ValidString(v) {
				l, col := cr.FieldPos(i)
				return nil, fileErr(l, "column %d (%s), character %d: the file is not UTF-8 text: save it as CSV UTF-8", i+1, header[i], col)
			}
			name := header[i]
			switch name {
			case ColumnSourceRef:
				r.SourceRef = unprotect(v)
			case "id":
				r.ID = unprotect(v)
			}
			r.cells[name] = v
		}
		r.cols = cols
		out = append(out, r)
	}
	return out, nil
}

// csvError turns an encoding/csv error into a FileError.
func csvError(err error, rec []string, want int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("csv: %w", err)
	}
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return fileErr(pe.StartLine, "this line has %d fields; the header has %d (a comma in a value needs the value in double quotes)", len(rec), want)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fileErr(pe.Line, `column %d: a double quote inside a value that is not quoted: quote the whole value and write the quote twice ("")`, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		if pe.Line != pe.StartLine {
			return fileErr(pe.StartLine, "the quoted value opened here is not closed properly (the file ends, or a quote is followed by other text, on line %d)", pe.Line)
		}
		return fileErr(pe.Line, `column %d: a quoted value is not closed properly: a double quote inside it must be written twice ("")`, pe.Column)
	}
	return fileErr(pe.Line, "%v", pe.Err)
}

// Record is one entry read from an import file: a CSV line or a GeoJSON
// feature. It holds what the file says, to be merged into an existing entry
// or read as a new one.
type Record struct {
	// Line is the line of the file where the entry starts.
	Line int
	// ID is the entry's id as the file gives it ("" when none).
	ID string
	// SourceRef is the entry's reference in the source inventory
	// (ColumnSourceRef or the GeoJSON property "source_ref"); "" when none.
	SourceRef string

	// A CSV line: its cells by column name, and the file's columns.
	cells map[string]string
	cols  []column
	// A GeoJSON feature.
	feature *featureIn
}

// Sensor reads the record as a whole entry, bookkeeping fields (version,
// updated_at, url) included, and lists the fields it could not read.
func (r Record) Sensor() (registryapi.Sensor, []registryapi.FieldError) {
	return r.merge(registryapi.Sensor{}, false)
}

// Merge returns base with the fields that the record gives replaced by the
// record's values, and lists the fields it could not read. Fields the file
// does not give (a CSV column that it lacks, a GeoJSON property that a
// feature lacks) keep base's value; the bookkeeping fields (version,
// updated_at, url) always keep base's.
func (r Record) Merge(base registryapi.Sensor) (registryapi.Sensor, []registryapi.FieldError) {
	return r.merge(base, true)
}

func (r Record) merge(base registryapi.Sensor, keepBookkeeping bool) (registryapi.Sensor, []registryapi.FieldError) {
	var s registryapi.Sensor
	var problems []registryapi.FieldError
	if r.feature != nil {
		s, problems = r.feature.merge(base)
	} else {
		s = base
		for _, c := range r.cols {
			if c.name == ColumnSourceRef {
				continue
			}
			v := r.cells[c.name]
			if !c.plain {
				v = unprotect(v)
			}
			if err := c.set(&s, v); err != nil {
				problems = append(problems, registryapi.FieldError{Field: c.name, Message: err.Error()})
			}
		}
	}
	if keepBookkeeping {
		s.Version, s.UpdatedAt, s.URL = base.Version, base.UpdatedAt, base.URL
	}
	return s, problems
}

// normalizeNewlines is what a CSV round trip does to text: encoding/csv
// reads CR LF inside a quoted value as LF, and its CRLF writer drops a lone
// CR. Export applies it so that what is written is what reads back.
func normalizeNewlines(s string) string {
	if !strings.ContainsRune(s, '\r') {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
