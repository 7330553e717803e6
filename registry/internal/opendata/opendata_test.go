package opendata

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

const base = "https://capteurs.example.org"

func ptr[T any](v T) *T { return &v }

// published returns the demo town as the API serves it (version, update
// time and URL set), plus tricky entries.
func published() []registryapi.Sensor {
	sensors := demo.Sensors()
	at := time.Date(2025, 3, 1, 9, 30, 0, 123456789, time.UTC)
	for i := range sensors {
		sensors[i].Version = 1 + i%3
		sensors[i].UpdatedAt = at.Add(time.Duration(i) * time.Hour)
		sensors[i].URL = base + "/sensors/" + sensors[i].ID
	}
	return append(sensors, tricky(), full())
}

// tricky is an entry whose text holds everything that breaks naive CSV
// and cell syntaxes.
func tricky() registryapi.Sensor {
	s := demo.Sensors()[0]
	s.ID = "air-piege-01"
	s.Name = registryapi.Text{
		FR: `Capteur « piège », avec "guillemets", virgules, et <script>alert('x')</script>`,
		EN: "Trap sensor\nwith a newline, and a | pipe; a semicolon = an equals \\ a backslash",
	}
	s.Description = registryapi.Text{
		FR: "=HYPERLINK(\"http://evil.example\",\"cliquez\")",
		EN: "-40 % by 2030\n\nSecond paragraph with émojis 🌡️ and ümlauts",
	}
	s.AttachedTo = registryapi.Text{FR: "'=quoted formula", EN: "'plain apostrophe"}
	s.Manufacturer = "+33 1 23 45 67 89"
	s.Model = "@SUM(A1:A2)"
	s.StorageLocation = registryapi.Text{FR: "''", EN: "'"}
	s.Tags = map[string]string{"zone": "a=b|c;d", "k\\ey": "\\"}
	s.Quantities = append(s.Quantities, registryapi.Quantity{
		Name: "odd", Unit: "/", Label: registryapi.Text{FR: "Étiquette; avec | tout = \\ ça", EN: ""},
	}, registryapi.Quantity{
		Name: "neg", Unit: "Cel", Min: ptr(-273.15), Max: ptr(1e-7), PeriodSeconds: 1,
		Label: registryapi.Text{FR: " espace devant", EN: "trailing space "},
	})
	s.Location.Lat, s.Location.Lon = -21.115141, 55.536384 // La Réunion
	s.Location.Address = "12, rue \"des\" Écoles\r\nBâtiment B"
	s.Version = 7
	s.UpdatedAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s.URL = base + "/sensors/air-piege-01"
	return s
}

// full is an entry in which every field, down to nested ones, is set.
func full() registryapi.Sensor {
	s := demo.Sensors()[0]
	s.ID = "mobile-full-01"
	s.Operators = []registryapi.Organisation{
		{Name: registryapi.Text{FR: "Opérateur; Réseaux", EN: "Network operator"}, SIREN: "123456789", URL: "https://op.example", PublicAuthority: true},
		{Name: registryapi.Text{FR: "Second", EN: "Second"}, SIREN: "987654321", URL: "https://two.example", PublicAuthority: false},
	}
	s.Accountable.SIREN = "217000000"
	s.PublicContact.Phone = "+33 2 00 00 00 00"
	s.DPOContact = registryapi.Contact{Email: "dpo@valmont-sur-lise.example", URL: "https://dpo.example", Phone: "02 00 00 00 01"}
	s.Quantities[0].Aggregation = registryapi.AggregationStats
	s.Identifiability = registryapi.Pseudonymised
	s.DeidentificationMethod = registryapi.Text{FR: "Hachage salé, sel renouvelé chaque jour", EN: "Salted hash, salt renewed daily"}
	s.LegalBasis = registryapi.BasisPublicTask
	s.PrivacyNoticeURL = "https://www.valmont-sur-lise.example/rgpd"
	s.Art30Record = "RT-2025-001"
	s.DPIAReference = "AIPD-2025-002"
	s.Location.Indoor = true
	s.Location.Area = [][2]float64{{2.04, 46.94}, {2.05, 46.94}, {2.05, 46.95}, {2.04, 46.95}, {2.04, 46.94}}
	s.Status = registryapi.StatusRetired
	s.DecommissionedAt = ptr(time.Date(2025, 6, 30, 17, 0, 0, 500, time.UTC))
	s.ActiveUntil = ptr(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))
	s.Version = 3
	s.UpdatedAt = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	s.URL = base + "/sensors/mobile-full-01"
	return s
}

// zeroFields lists the fields of v that are zero, recursively; slices must
// have an element, whose fields are checked.
func zeroFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		if v.Elem().Kind() != reflect.Struct {
			return nil // a pointer to 0 is a value
		}
		return zeroFields(v.Elem(), path)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			if v.Interface().(time.Time).IsZero() {
				return []string{path}
			}
			return nil
		}
		var out []string
		for i := range v.NumField() {
			out = append(out, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
		return out
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		if v.Kind() == reflect.Slice {
			return zeroFields(v.Index(0), path+"[0]")
		}
		return nil
	case reflect.Bool:
		return nil // false is a value
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}

// The fixture sets every field of registryapi.Sensor, so that the round
// trip below covers every field: a field added to the contract fails here
// until the fixture, and then the CSV mapping, carry it.
func TestFullFixtureSetsEveryField(t *testing.T) {
	if z := zeroFields(reflect.ValueOf(full()), "Sensor"); len(z) > 0 {
		t.Errorf("full() leaves fields zero: %v", z)
	}
}

func sensorsOf(t *testing.T, records []Record) []registryapi.Sensor {
	t.Helper()
	var out []registryapi.Sensor
	for _, r := range records {
		s, problems := r.Sensor()
		if len(problems) > 0 {
			t.Errorf("line %d (%s): %v", r.Line, r.ID, problems)
		}
		out = append(out, s)
	}
	return out
}

// crToLF is what the CSV mapping does to text: a CR becomes LF.
var crToLF = cmp.Transformer("crToLF", normalizeNewlines)

func TestCSVRoundTrip(t *testing.T) {
	want := published()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, want); err != nil {
		t.Fatal(err)
	}
	records, err := ReadCSV(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("ReadCSV: %v\n%s", err, buf.String())
	}
	got := sensorsOf(t, records)
	if d := cmp.Diff(want, got, crToLF, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("CSV round trip (-want +got):\n%s", d)
	}

	// Line numbers count the lines of values that span several.
	var lines []int
	for _, r := range records {
		lines = append(lines, r.Line)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i] <= lines[i-1] {
			t.Errorf("record lines %v are not increasing", lines)
		}
	}
	trickyLine := lines[len(want)-2]
	if got := strings.Count(buf.String()[:strings.Index(buf.String(), "air-piege-01")], "\n") + 1; got != trickyLine {
		t.Errorf("tricky entry at line %d, ReadCSV says %d", got, trickyLine)
	}

	// Written again, the same bytes.
	var again bytes.Buffer
	if err := WriteCSV(&again, got); err != nil {
		t.Fatal(err)
	}
	if again.String() != buf.String() {
		t.Error("writing what was read gives other bytes")
	}
}

func TestCSVFormat(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, published()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	header, _, _ := strings.Cut(out, "\r\n")
	if header != strings.Join(Columns(), ",") {
		t.Errorf("header %q", header)
	}
	if bytes.HasPrefix(buf.Bytes(), utf8BOM) {
		t.Error("the export starts with a byte order mark")
	}
	for _, want := range []string{
		// RFC 4180 quoting.
		`"Capteur « piège », avec ""guillemets"", virgules, et <script>alert('x')</script>"`,
		// Formula protection.
		`"'=HYPERLINK(""http://evil.example"",""cliquez"")"`,
		",'+33 1 23 45 67 89,'@SUM(A1:A2),",
		",''=quoted formula,'plain apostrophe,",
		// Cell syntaxes.
		"pm10;ug/m3;0;1000;60;Particules PM10;PM10 particulate matter|",
		`odd;/;;;;Étiquette\; avec \| tout \= \\ ça;`,
		"neg;Cel;-273.15;0.0000001;1; espace devant;trailing space ",
		`k\\ey=\\|zone=a\=b\|c\;d`,
		"2.04;46.94|2.05;46.94|2.05;46.95|2.04;46.95|2.04;46.94",
		"Opérateur\\; Réseaux;Network operator;123456789;https://op.example;true|Second;Second;987654321;https://two.example;false",
		"air_quality|thermometer",
		// Numbers are numbers, negative ones unprotected; times RFC 3339.
		",-21.115141,55.536384,",
		",2024-03-18T00:00:00Z,,",
		",2025-03-01T09:30:00.123456789Z,",
		// Each entry's stable URL.
		"," + base + "/sensors/air-mairie-01\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the CSV lacks %q", want)
		}
	}
	for _, line := range strings.Split(out, "\r\n") {
		if strings.HasPrefix(line, "=") || strings.Contains(line, ",=") || strings.Contains(line, ",+") || strings.Contains(line, ",@") {
			t.Errorf("a cell starts a formula: %q", line)
		}
	}
}

func TestCellProtection(t *testing.T) {
	for _, v := range []string{"", "'", "''", "'a", "'=", "=", "=1+1", "+", "-", "@", "\tx", "a=b", "''=x", "'''"} {
		if got := unprotect(protect(v)); got != v {
			t.Errorf("unprotect(protect(%q)) = %q", v, got)
		}
		if p := protect(v); p != "" && formulaStart(p[0]) {
			t.Errorf("protect(%q) = %q starts a formula", v, p)
		}
	}
}

func TestReadCSVAcceptsBOMAndSubsets(t *testing.T) {
	in := "\ufeffid,name_fr,source_ref,lat,lon,quantities,commissioned_at\r\n" +
		"air-neuf-01,Neuf,INV-42,46.95,2.04,pm10;ug/m3;0;1000;60,2024-05-01\r\n" +
		",,,,,,\r\n" + // a spreadsheet's empty line
		"\r\n" +
		"air-neuf-02,\"Deux\nlignes\",INV-43,,,,\r\n"
	records, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 {
		t.Fatalf("%d records, want 2", len(records))
	}
	r := records[0]
	if r.Line != 2 || r.ID != "air-neuf-01" || r.SourceRef != "INV-42" {
		t.Errorf("first record: line %d id %q ref %q", r.Line, r.ID, r.SourceRef)
	}
	s, problems := r.Sensor()
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	want := registryapi.Quantity{Name: "pm10", Unit: "ug/m3", Min: ptr(0.0), Max: ptr(1000.0), PeriodSeconds: 60}
	if d := cmp.Diff([]registryapi.Quantity{want}, s.Quantities); d != "" {
		t.Errorf("quantities (-want +got):\n%s", d)
	}
	if s.CommissionedAt == nil || !s.CommissionedAt.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("commissioned_at %v", s.CommissionedAt)
	}
	if records[1].Line != 5 {
		t.Errorf("second record at line %d, want 5", records[1].Line)
	}

	// Merge keeps what the file does not say, and the bookkeeping.
	old := demo.Sensors()[0]
	old.Version, old.URL = 4, "https://x.example/sensors/air-mairie-01"
	merged, problems := r.Merge(old)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if merged.Name.FR != "Neuf" || merged.Name.EN != old.Name.EN || merged.Description != old.Description ||
		merged.Version != 4 || merged.URL != old.URL || merged.Location.Lat != 46.95 || merged.Location.Address != old.Location.Address {
		t.Errorf("merged %+v", merged)
	}
}

func TestReadCSVCellProblems(t *testing.T) {
	in := "id,lat,open_data,quantities,tags,commissioned_at,area,operators\n" +
		"air-x-01,\"46,9\",yes please,pm10;ug/m3;zero;1000;60,zone,hier,1;2|3,a;b\n"
	records, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	_, problems := records[0].Sensor()
	var fields []string
	for _, p := range problems {
		fields = append(fields, p.Field)
	}
	want := []string{"lat", "open_data", "quantities", "tags", "commissioned_at", "area", "operators"}
	if d := cmp.Diff(want, fields); d != "" {
		t.Errorf("problem fields (-want +got):\n%s\n%v", d, problems)
	}
	if !strings.Contains(fmt.Sprint(problems), "decimal point") {
		t.Errorf("a decimal comma is not explained: %v", problems)
	}
}

func TestReadCSVMalformed(t *testing.T) {
	for _, c := range []struct {
		name, in string
		line     int
		says     string
	}{
		{"empty", "", 1, "empty"},
		{"no id column", "name_fr,lat\nx,1\n", 1, `no "id" column`},
		{"unknown column", "id,nom\nx,y\n", 1, `"nom"`},
		{"repeated column", "id,lat,lat\n", 1, "twice"},
		{"too many fields", "id,name_fr\nair-a-01,A\nair-b-01,B,C\n", 3, "3 fields; the header has 2"},
		{"too few fields", "id,name_fr\nair-a-01,A\nair-b-01\n", 3, "1 fields; the header has 2"},
		{"bare quote", "id,name_fr\nair-a-01,A \"B\"\n", 2, "double quote"},
		{"unclosed quote", "id,name_fr\nair-a-01,\"A\nair-b-01,B\n", 2, "not closed"},
		{"text after quote", "id,name_fr\nair-a-01,\"A\"B\n", 2, "not closed"},
		{"not UTF-8", "id,name_fr\nair-a-01,caf\xe9\n", 2, "UTF-8"},
		{"not UTF-8 header", "id,nom_\xe9\n", 1, "UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(c.in))
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want a FileError", err)
			}
			if fe.Line != c.line || !strings.Contains(fe.Error(), c.says) {
				t.Errorf("%v; want line %d saying %q", fe, c.line, c.says)
			}
		})
	}
}

func TestCellSyntax(t *testing.T) {
	for _, items := range [][]string{nil, {"a"}, {"a", "b"}, {"", "x"}, {`\`, "|", ";", "="}, {"a|b;c=d\\"}} {
		got, err := splitList(joinList(items))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(items, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("list %q (-want +got):\n%s", items, d)
		}
	}
	for _, bad := range []string{`a\`, `a|b\`} {
		if _, err := splitList(bad); err == nil {
			t.Errorf("splitList(%q) reads", bad)
		}
	}
	if _, err := splitTags("a=1|a=2"); err == nil {
		t.Error("a repeated tag reads")
	}
	if _, err := splitRecords("a;b;c", 5, 7, quantityShape); err == nil || !strings.Contains(err.Error(), quantityShape) {
		t.Errorf("a short quantity: %v", err)
	}
}

// FuzzReadCSV: no panic, and what reads writes back and reads the same.
func FuzzReadCSV(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, published()[len(published())-2:]); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("id,name_fr,tags\nair-a-01,\"x\ny\",a=b|c=d\n"))
	f.Add([]byte("id,quantities\nair-a-01,a;b;1;2;3;x;y|c;d;;;;;\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		records, err := ReadCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		var sensors []registryapi.Sensor
		for _, r := range records {
			s, problems := r.Sensor()
			if len(problems) > 0 {
				return
			}
			sensors = append(sensors, s)
		}
		var out bytes.Buffer
		if err := WriteCSV(&out, sensors); err != nil {
			t.Fatal(err)
		}
		again, err := ReadCSV(&out)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if d := cmp.Diff(sensors, sensorsOf(t, again), crToLF, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("(-first +second):\n%s", d)
		}
	})
}

// The manual (doc.go) and the README list the columns as they are.
func TestColumnsDocumented(t *testing.T) {
	want := strings.Join(Columns(), ", ")
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(string(doc), "in this order:\n//\n")
	block, _, _ = strings.Cut(block, "\n//\n")
	block = strings.NewReplacer("//\t", "", "\n", " ").Replace(block)
	if got := strings.Join(strings.Fields(block), " "); got != want {
		t.Errorf("doc.go lists the columns\n%s\nwant\n%s", got, want)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "`"+strings.Join(Columns(), "`, `")+"`") {
		t.Error("registry/README.md does not list the CSV columns as they are")
	}
}
