package firmware

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Groups as recorded from real meters, with their checksums.
func TestTICChecksum(t *testing.T) {
	for _, g := range []string{
		// Historique: the checksum leaves out the last separator.
		"OPTARIF BASE 0",
		"MOTDETAT 000000 B",
		"ADCO 031428097115 @",
		"ADCO 031762270346 @",
		"ADCO 012345678901 E",
		"PTEC TH.. $",
		"ISOUSC 30 9",
		"BASE 007640930 (",
		"BASE 024576277 3",
		"IINST 002 Y",
		"IMAX 090 H",
		"PAPP 00390 -",
		"PAPP 00400 %",
		"HHPHC A ,",
		// Standard (Enedis-NOI-CPT_54E): the checksum covers it.
		"VTIC\t02\tJ",
		"DATE\tE200426181830\t\tA",
		"EAST\t006231973\t.",
		"EASF02\t000000000\t#",
		"EASD04\t000000000\t#",
		"URMS1\t235\tD",
		"PREF\t09\tH",
		"PCOUP\t09\t\"",
		"SINSTS\t01163\tQ",
		"SMAXSN\tE200426132229\t06100\t2",
		"SMAXSN-1\tE200425151325\t04700\tQ",
		"CCASN\tE200426180000\t02120\t4",
		"UMOY1\tE200426181000\t234\t,",
		"STGE\t003A0001\t:",
		"MSG1\t     PAS DE          MESSAGE    \t<",
		"NJOURF+1\t00\tB",
	} {
		n := len(g)
		covered := g[:n-2]
		if strings.Contains(g, "\t") {
			covered = g[:n-1]
		}
		if got := ticChecksum([]byte(covered)); got != g[n-1] {
			t.Errorf("%q: checksum %q, want %q", g, got, g[n-1])
		}
		s := ticStream{}
		if pg := s.parseGroup([]byte(g)); pg.err != nil {
			t.Errorf("%q: %v", g, pg.err)
		}
	}
}

func TestTICParseGroup(t *testing.T) {
	for _, c := range []struct {
		mode  TICMode
		group string
		want  ticGroup
	}{
		{TICAuto, "PAPP 00390 -", ticGroup{label: "PAPP", data: "00390"}},
		{TICAuto, "PAPP 00391 -", ticGroup{err: &FieldError{Field: "PAPP", Reason: "checksum 0x2D expected 0x2E"}}},
		{TICAuto, "SMAXSN\tE200426132229\t06100\t2", ticGroup{label: "SMAXSN", horodate: "E200426132229", data: "06100"}},
		{TICAuto, "DATE\tE200426181830\t\tA", ticGroup{label: "DATE", horodate: "E200426181830"}},
		{TICAuto, "PAPP00390-", ticGroup{err: &FieldError{Field: "PAPP00390-", Reason: "malformed group"}}},
		{TICAuto, "A\tB\tC\tD\tE\t0", ticGroup{err: &FieldError{Field: "A", Reason: "malformed group"}}},
		{TICAuto, "", ticGroup{err: &FieldError{Field: "", Reason: "malformed group"}}},
		{TICAuto, " 1 Q", ticGroup{err: &FieldError{Field: "", Reason: "malformed group"}}},
		{TICStandard, "PAPP 00390 -", ticGroup{err: &FieldError{Field: "PAPP 00390 -", Reason: "malformed group"}}},
		{TICHistorique, "VTIC\t02\tJ", ticGroup{err: &FieldError{Field: "\"VTIC\\t02\\tJ\"", Reason: "malformed group"}}},
	} {
		s := ticStream{mode: c.mode}
		got := s.parseGroup([]byte(c.group))
		if fmt.Sprint(got.label, got.horodate, got.data) != fmt.Sprint(c.want.label, c.want.horodate, c.want.data) ||
			fmt.Sprint(got.err) != fmt.Sprint(c.want.err) {
			t.Errorf("%v %q: got %+v (%v), want %+v (%v)", c.mode, c.group, got, got.err, c.want, c.want.err)
		}
	}
}

func TestParseHorodate(t *testing.T) {
	for _, c := range []struct {
		h, want string // want in RFC 3339, or "error"
	}{
		{"E200426181830", "2020-04-26T18:18:30+02:00"},
		{"H251127143000", "2025-11-27T14:30:00+01:00"},
		{"e251127143000", "2025-11-27T14:30:00+02:00"}, // degraded clock: the letter is taken as sent
		{"h200101000000", "2020-01-01T00:00:00+01:00"},
		{" 250715120000", "2025-07-15T12:00:00+02:00"}, // blank season: EU rule
		{" 251225120000", "2025-12-25T12:00:00+01:00"},
		{" 250330015959", "2025-03-30T01:59:59+01:00"}, // summer time starts at 02:00 CET
		{" 250330030000", "2025-03-30T03:00:00+02:00"},
		{" 251026015959", "2025-10-26T01:59:59+02:00"},
		{" 251026030000", "2025-10-26T03:00:00+01:00"},
		{"X200426181830", "error"},
		{"E20042618183", "error"},
		{"E2004261818300", "error"},
		{"E201326181830", "error"},
		{"E200431181830", "error"},
		{"E200426241830", "error"},
		{"E2004261818a0", "error"},
		{"", "error"},
	} {
		got, err := parseHorodate(c.h)
		s := "error"
		if err == nil {
			s = got.Format(time.RFC3339)
		}
		if s != c.want {
			t.Errorf("parseHorodate(%q) = %s (%v), want %s", c.h, s, err, c.want)
		}
	}
}

func TestParseTICMode(t *testing.T) {
	for s, want := range map[string]TICMode{"": TICAuto, "auto": TICAuto, "Historique": TICHistorique, "historic": TICHistorique, "standard": TICStandard} {
		if got, err := ParseTICMode(s); err != nil || got != want {
			t.Errorf("ParseTICMode(%q) = %v, %v", s, got, err)
		}
		if want != TICAuto && want.String() != strings.ToLower(s) && s != "historic" {
			t.Errorf("%v.String() = %q", want, want.String())
		}
	}
	if _, err := ParseTICMode("turbo"); err == nil {
		t.Error("ParseTICMode(turbo): no error")
	}
}

func TestTICLabels(t *testing.T) {
	for label, l := range ticLabels {
		if l.kind == ticNumber && (!quantityName.MatchString(l.quantity) || !serialUnits[l.unit]) {
			t.Errorf("%s: quantity %q unit %q", label, l.quantity, l.unit)
		}
		if l.phase1 && !quantityName.MatchString(l.quantity+"_l1") {
			t.Errorf("%s: %s_l1", label, l.quantity)
		}
	}
}

// The golden cases: testdata/tic/<case>/{stream.bin,want.json}, and an
// optional mode file ("historique" or "standard"; auto without).
func TestTICGolden(t *testing.T) {
	runGolden(t, "tic", ticStreams(), func(dir string) StreamDecoder {
		b, err := os.ReadFile(filepath.Join(dir, "mode"))
		if err != nil {
			return TIC()
		}
		m, err := ParseTICMode(string(b))
		if err != nil {
			t.Fatal(err)
		}
		return TICWithMode(m)
	})
}

// Generators of TIC streams, after the label sets of real meters.

// histGroup is a group of mode historique.
func histGroup(label, data string) string {
	b := label + " " + data
	return "\n" + b + " " + string(ticChecksum([]byte(b))) + "\r"
}

// stdGroup is a group of mode standard; horodate may be empty.
func stdGroup(label, horodate, data string) string {
	b := label + "\t"
	if horodate != "" {
		b += horodate + "\t"
	}
	b += data + "\t"
	return "\n" + b + string(ticChecksum([]byte(b))) + "\r"
}

func ticFrame(groups ...string) string { return "\x02" + strings.Join(groups, "") + "\x03" }

// ticHistBaseFrame is a Linky in mode historique, option Base.
func ticHistBaseFrame(index, iinst, papp int) string {
	return ticFrame(
		histGroup("ADCO", "031762270346"),
		histGroup("OPTARIF", "BASE"),
		histGroup("ISOUSC", "30"),
		histGroup("BASE", fmt.Sprintf("%09d", index)),
		histGroup("PTEC", "TH.."),
		histGroup("IINST", fmt.Sprintf("%03d", iinst)),
		histGroup("IMAX", "090"),
		histGroup("PAPP", fmt.Sprintf("%05d", papp)),
		histGroup("HHPHC", "A"),
		histGroup("MOTDETAT", "000000"),
	)
}

func ticHistBase() []byte {
	return []byte(ticHistBaseFrame(7640930, 2, 390) + ticHistBaseFrame(7640931, 2, 400) + ticHistBaseFrame(7640931, 3, 610))
}

// ticHistHCFrame is a meter in option Heures Creuses.
func ticHistHCFrame(hchc, hchp int, ptec string, iinst, papp int, adps bool) string {
	g := []string{
		histGroup("ADCO", "021728123456"),
		histGroup("OPTARIF", "HC.."),
		histGroup("ISOUSC", "45"),
		histGroup("HCHC", fmt.Sprintf("%09d", hchc)),
		histGroup("HCHP", fmt.Sprintf("%09d", hchp)),
		histGroup("PTEC", ptec),
		histGroup("IINST", fmt.Sprintf("%03d", iinst)),
	}
	if adps {
		g = append(g, histGroup("ADPS", fmt.Sprintf("%03d", iinst)))
	}
	g = append(g,
		histGroup("IMAX", "090"),
		histGroup("PAPP", fmt.Sprintf("%05d", papp)),
		histGroup("HHPHC", "A"),
		histGroup("MOTDETAT", "000000"),
	)
	return ticFrame(g...)
}

// ticStdMonoFrame is a single-phase Linky in mode standard, option Base.
func ticStdMonoFrame(date string, east, irms, urms, sinsts int) string {
	return ticFrame(
		stdGroup("ADSC", "", "041876097478"),
		stdGroup("VTIC", "", "02"),
		stdGroup("DATE", date, ""),
		stdGroup("NGTF", "", "      BASE      "),
		stdGroup("LTARF", "", "      BASE      "),
		stdGroup("EAST", "", fmt.Sprintf("%09d", east)),
		stdGroup("EASF01", "", fmt.Sprintf("%09d", east)),
		stdGroup("EASF02", "", "000000000"),
		stdGroup("EASF03", "", "000000000"),
		stdGroup("EASF04", "", "000000000"),
		stdGroup("EASF05", "", "000000000"),
		stdGroup("EASF06", "", "000000000"),
		stdGroup("EASF07", "", "000000000"),
		stdGroup("EASF08", "", "000000000"),
		stdGroup("EASF09", "", "000000000"),
		stdGroup("EASF10", "", "000000000"),
		stdGroup("EASD01", "", fmt.Sprintf("%09d", east)),
		stdGroup("EASD02", "", "000000000"),
		stdGroup("EASD03", "", "000000000"),
		stdGroup("EASD04", "", "000000000"),
		stdGroup("IRMS1", "", fmt.Sprintf("%03d", irms)),
		stdGroup("URMS1", "", fmt.Sprintf("%03d", urms)),
		stdGroup("PREF", "", "09"),
		stdGroup("PCOUP", "", "09"),
		stdGroup("SINSTS", "", fmt.Sprintf("%05d", sinsts)),
		stdGroup("SMAXSN", "E250702123512", "03945"),
		stdGroup("SMAXSN-1", "E250701194020", "05127"),
		stdGroup("CCASN", "E250702143000", "00702"),
		stdGroup("CCASN-1", "E250702140000", "00655"),
		stdGroup("UMOY1", "E250702143000", "236"),
		stdGroup("STGE", "", "003A0001"),
		stdGroup("MSG1", "", "PAS DE          MESSAGE         "),
		stdGroup("PRM", "", "01332272002530"),
		stdGroup("RELAIS", "", "000"),
		stdGroup("NTARF", "", "01"),
		stdGroup("NJOURF", "", "00"),
		stdGroup("NJOURF+1", "", "00"),
		stdGroup("PJOURF+1", "", "00008001 NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE"),
	)
}

// ticStdTriFrame is a three-phase Linky in mode standard, option HC,
// of a producer (EAIT, SINSTI…).
func ticStdTriFrame(date string, east, eait int, irms, urms, sinsts [3]int, sinsti int) string {
	return ticFrame(
		stdGroup("ADSC", "", "812175416548"),
		stdGroup("VTIC", "", "02"),
		stdGroup("DATE", date, ""),
		stdGroup("NGTF", "", "H PLEINE/CREUSE "),
		stdGroup("LTARF", "", "  HEURE  PLEINE "),
		stdGroup("EAST", "", fmt.Sprintf("%09d", east)),
		stdGroup("EASF01", "", fmt.Sprintf("%09d", east*2/5)),
		stdGroup("EASF02", "", fmt.Sprintf("%09d", east-east*2/5)),
		stdGroup("EASF03", "", "000000000"),
		stdGroup("EASF04", "", "000000000"),
		stdGroup("EASF05", "", "000000000"),
		stdGroup("EASF06", "", "000000000"),
		stdGroup("EASF07", "", "000000000"),
		stdGroup("EASF08", "", "000000000"),
		stdGroup("EASF09", "", "000000000"),
		stdGroup("EASF10", "", "000000000"),
		stdGroup("EASD01", "", fmt.Sprintf("%09d", east*2/5)),
		stdGroup("EASD02", "", fmt.Sprintf("%09d", east-east*2/5)),
		stdGroup("EASD03", "", "000000000"),
		stdGroup("EASD04", "", "000000000"),
		stdGroup("EAIT", "", fmt.Sprintf("%09d", eait)),
		stdGroup("ERQ1", "", "000112233"),
		stdGroup("ERQ2", "", "000004512"),
		stdGroup("ERQ3", "", "000001207"),
		stdGroup("ERQ4", "", "000085960"),
		stdGroup("IRMS1", "", fmt.Sprintf("%03d", irms[0])),
		stdGroup("IRMS2", "", fmt.Sprintf("%03d", irms[1])),
		stdGroup("IRMS3", "", fmt.Sprintf("%03d", irms[2])),
		stdGroup("URMS1", "", fmt.Sprintf("%03d", urms[0])),
		stdGroup("URMS2", "", fmt.Sprintf("%03d", urms[1])),
		stdGroup("URMS3", "", fmt.Sprintf("%03d", urms[2])),
		stdGroup("PREF", "", "12"),
		stdGroup("PCOUP", "", "12"),
		stdGroup("SINSTS", "", fmt.Sprintf("%05d", sinsts[0]+sinsts[1]+sinsts[2])),
		stdGroup("SINSTS1", "", fmt.Sprintf("%05d", sinsts[0])),
		stdGroup("SINSTS2", "", fmt.Sprintf("%05d", sinsts[1])),
		stdGroup("SINSTS3", "", fmt.Sprintf("%05d", sinsts[2])),
		stdGroup("SMAXSN", "H251127071502", "06120"),
		stdGroup("SMAXSN1", "H251127071502", "02310"),
		stdGroup("SMAXSN2", "H251127071455", "01980"),
		stdGroup("SMAXSN3", "H251127071510", "01830"),
		stdGroup("SMAXSN-1", "H251126190112", "07230"),
		stdGroup("SMAXSN1-1", "H251126190112", "02710"),
		stdGroup("SMAXSN2-1", "H251126185930", "02390"),
		stdGroup("SMAXSN3-1", "H251126190240", "02130"),
		stdGroup("SINSTI", "", fmt.Sprintf("%05d", sinsti)),
		stdGroup("SMAXIN", "H251127123311", "02950"),
		stdGroup("SMAXIN-1", "H251126130547", "03010"),
		stdGroup("CCASN", "H251127140000", "01250"),
		stdGroup("CCASN-1", "H251127133000", "01190"),
		stdGroup("CCAIN", "H251127140000", "00420"),
		stdGroup("CCAIN-1", "H251127133000", "00560"),
		stdGroup("UMOY1", "H251127140000", "232"),
		stdGroup("UMOY2", "H251127140000", "234"),
		stdGroup("UMOY3", "H251127140000", "231"),
		stdGroup("STGE", "", "013AC501"),
		stdGroup("DPM1", " 000000000000", "00"),
		stdGroup("FPM1", " 000000000000", "00"),
		stdGroup("MSG1", "", "PAS DE          MESSAGE         "),
		stdGroup("PRM", "", "25433987616541"),
		stdGroup("RELAIS", "", "001"),
		stdGroup("NTARF", "", "02"),
		stdGroup("NJOURF", "", "00"),
		stdGroup("NJOURF+1", "", "00"),
		stdGroup("PJOURF+1", "", "00004001 06004002 22004001 NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE"),
	)
}

// withParity sets the even-parity bit of every byte, as a 7E1 line read
// as 8N1 shows it.
func withParity(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		ones := 0
		for x := c; x != 0; x >>= 1 {
			ones += int(x & 1)
		}
		if ones%2 == 1 {
			b[i] = c | 0x80
		}
	}
	return b
}

// corruptGroup changes the data of the first group with this label,
// leaving its checksum as it was.
func corruptGroup(frame, label, data, bad string) string {
	i := strings.Index(frame, "\n"+label)
	j := strings.Index(frame[i:], data) + i
	return frame[:j] + bad + frame[j+len(bad):]
}

func ticStreams() map[string][]byte {
	base1 := ticHistBaseFrame(7640930, 2, 390)
	base2 := ticHistBaseFrame(7640931, 2, 400)
	mono1 := ticStdMonoFrame("E250702143512", 6231973, 3, 236, 702)
	mono2 := ticStdMonoFrame("E250702143514", 6231974, 3, 235, 715)
	tri := ticStdTriFrame("H251127143000", 18273645, 4521087, [3]int{4, 2, 1}, [3]int{232, 235, 230}, [3]int{1012, 420, 230}, 0)
	triSun := ticStdTriFrame("H251127143002", 18273645, 4521090, [3]int{3, 4, 4}, [3]int{236, 237, 235}, [3]int{0, 0, 0}, 2480)
	noise := "\x00\xff\x13garbage\r\n\x7f\x05"

	return map[string][]byte{
		"empty":             {},
		"historique_base":   ticHistBase(),
		"historique_hc":     []byte(ticHistHCFrame(3516732, 8024521, "HC..", 5, 1180, false) + ticHistHCFrame(3516740, 8024521, "HP..", 47, 10850, true)),
		"standard_mono":     []byte(mono1 + mono2),
		"standard_tri_prod": []byte(tri + triSun),
		// Starts in the middle of a frame, noise between frames.
		"noise_between_frames": []byte(base1[40:] + noise + base2 + "\x01\x01" + noise + base1),
		// A frame cut by a new STX (its ETX lost), one cut in a group by
		// its ETX, one with a lost CR, one with noise between groups.
		"cut_frames": []byte(base1[:len(base1)/2] + base2 +
			base1[:60] + "\x03" + base2 +
			strings.Replace(base1, "\r", "", 3) + base2 +
			strings.Replace(base1, "\r\n", "\r#\n", 1) + base2),
		// One group with a bad checksum per frame: the others kept.
		"bad_checksum": []byte(corruptGroup(base1, "PAPP", "00390", "00396") +
			corruptGroup(mono1, "SINSTS", "00702", "00802") +
			corruptGroup(mono1, "ADSC", "041876097478", "041876097479") +
			corruptGroup(mono1, "DATE", "E250702143512", "E250702143612")),
		"eot_mid_frame": []byte(base1 + base2[:70] + "\x04" + base2 + mono1[:300] + "\x04" + mono2),
		"parity_bits":   append(withParity(base1+base2), withParity(mono1)...),
		// A frame longer than ticMaxFrame is dropped, the next kept.
		"oversize_frame": []byte("\x02" + strings.Repeat(histGroup("BASE", "000000001"), 300) + "\x03" + base2),
		// Labels no table knows, data that is no number, horodates
		// that are no date, a blank season letter.
		"odd_groups": []byte(ticFrame(
			stdGroup("ADSC", "", "041876097478"),
			stdGroup("DATE", " 250115083000", ""),
			stdGroup("EAST", "", "00623197A"),
			stdGroup("XYZZY", "", "12"),
			stdGroup("SMAXSN", "E251345120000", "03000"),
			stdGroup("SINSTS", "", "00702"),
		) + ticFrame(
			histGroup("ADCO", "031762270346"),
			histGroup("PAPP", "-0390"),
			histGroup("BOGUS", "1"),
			histGroup("IINST", "002"),
		) + "\x02\x03"),
		// The frame before the last has lost its ADSC: the stream's
		// last address is kept.
		"address_kept": []byte(mono1 + corruptGroup(mono2, "ADSC", "041876097478", "141876097478") + base1),
		// Mixed modes in one stream, auto-detected.
		"mixed_modes": []byte(base1 + mono1 + base2),
	}
}

// Fixed modes: a standard stream read as historique gives malformed
// groups only, and the reverse.
func TestTICFixedMode(t *testing.T) {
	mono := ticStdMonoFrame("E250702143512", 6231973, 3, 236, 702)
	base := ticHistBaseFrame(7640930, 2, 390)
	for _, c := range []struct {
		mode   TICMode
		stream string
		want   int // readings
	}{
		{TICStandard, mono, 25},
		{TICHistorique, mono, 0},
		{TICHistorique, base, 5},
		{TICStandard, base, 0},
	} {
		got := decodeAll(t, TICWithMode(c.mode), []byte(c.stream), false)
		if len(got) != 1 || len(got[0].Readings) != c.want {
			t.Errorf("%v: %d results, want 1 with %d readings: %+v", c.mode, len(got), c.want, got)
		}
		if c.want == 0 && len(got) == 1 {
			for _, u := range got[0].Unknown {
				if u.Reason != "malformed group" {
					t.Errorf("%v: %v", c.mode, u)
				}
			}
		}
	}
}

// Decoding must make progress on any input, and not depend on how the
// reader splits it.
func FuzzTIC(f *testing.F) {
	for _, s := range ticStreams() {
		if len(s) > 3000 {
			s = s[:3000]
		}
		f.Add(s)
	}
	f.Add([]byte("\x02\nA\tE200426181830\t1\t \r\x03"))
	f.Add([]byte("\x02\n\r\x03"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []TICMode{TICAuto, TICHistorique, TICStandard} {
			d := TICWithMode(m)
			whole := decodeAll(t, d, data, false)
			checkResults(t, whole)
			if !bytes.Equal(mustJSON(t, toGolden(whole)), mustJSON(t, toGolden(decodeAll(t, d, data, true)))) {
				t.Fatalf("%v: byte-by-byte decoding differs", m)
			}
			// Every byte after an STX counts towards the frame bound:
			// no result can hold more groups than the input has CRs.
			for _, r := range whole {
				if len(r.Readings)+len(r.Unknown) > bytes.Count(data, []byte{ticCR})+bytes.Count(data, []byte{ticCR | 0x80}) {
					t.Fatalf("%v: more fields than groups", m)
				}
			}
		}
	})
}
