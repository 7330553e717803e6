package firmware

// Linky TIC (télé-information client) of Enedis meters, after
// Enedis-NOI-CPT_54E (Linky, "historique" and "standard" modes) and
// ERDF-NOI-CPT_02E (the electronic meters before Linky, "historique" only).
//
// The line is 7 data bits, even parity, 1 stop bit: 1200 baud in mode
// historique, 9600 baud in mode standard ([OpenTIC]). The meter sends
// frames without end:
//
//	STX (0x02)  group…  ETX (0x03)
//	group:      LF (0x0A)  label SEP [horodate SEP] data SEP checksum  CR (0x0D)
//
// Mode historique separates with SP (0x20), has no horodate, and sums
// the bytes from the label to the data (the last separator left out);
// mode standard separates with HT (0x09), may carry a horodate
// (SAAMMJJhhmmss: a season letter, then the local date and time), and
// sums up to and including the last separator. The checksum character is
// (sum & 0x3F) + 0x20. EOT (0x04) interrupts a frame.
//
// What the decoder keeps of each frame (one Result per frame, in group
// order):
//
//	label (historique)      Quantity                  Unit  note
//	ADCO                    —                         —     meter address → Reading.Source
//	BASE                    energy                    Wh    index, option Base
//	HCHC, HCHP              energy_hchc, energy_hchp  Wh    index, option Heures Creuses
//	EJPHN, EJPHPM           energy_ejphn, …_ejphpm    Wh    index, option EJP
//	BBRHCJB … BBRHPJR       energy_bbrhcjb, …         Wh    index, option Tempo (6 indices)
//	ISOUSC                  subscribed_current        A
//	IINST (IINST1..3)       current (current_l1..l3)  A
//	IMAX (IMAX1..3)         current_max (…_l1..l3)    A
//	ADPS (ADIR1..3)         current_overrun (…_l1..l3) A    only sent while overrunning
//	PAPP                    apparent_power            VA
//	PMAX                    power_max                 W     three-phase meters
//	PEJP                    ejp_notice                min   EJP notice
//	OPTARIF PTEC DEMAIN HHPHC MOTDETAT PPOT: text, not readings
//
//	label (standard)        Quantity                      Unit  note
//	ADSC                    —                             —     meter address → Reading.Source
//	DATE                    —                             —     → Reading.Time of the frame
//	EAST                    energy                        Wh    total active energy withdrawn
//	EASF01..EASF10          energy_easf01..energy_easf10  Wh    supplier's tariff indices
//	EASD01..EASD04          energy_easd01..energy_easd04  Wh    distributor's tariff indices
//	EAIT                    energy_injected               Wh    total active energy injected
//	ERQ1..ERQ4              reactive_energy_q1..q4        varh  per quadrant
//	IRMS1 (IRMS2, IRMS3)    current (current_l1..l3)      A
//	URMS1 (URMS2, URMS3)    voltage (voltage_l1..l3)      V
//	UMOY1 (UMOY2, UMOY3)    voltage_mean (…_l1..l3)       V     horodated
//	PREF, PCOUP             apparent_power_subscribed, apparent_power_cutoff  VA (sent in kVA)
//	SINSTS                  apparent_power                VA    withdrawn, all phases
//	SINSTS1..3              apparent_power_l1..l3         VA
//	SMAXSN (SMAXSN1..3)     apparent_power_max (…_l1..l3) VA    horodated, today
//	SMAXSN-1 (SMAXSN1-1..)  apparent_power_max_previous (…_l1..l3) VA  horodated, yesterday
//	SINSTI                  apparent_power_injected       VA
//	SMAXIN, SMAXIN-1        apparent_power_injected_max, …_max_previous  VA  horodated
//	CCASN, CCASN-1          active_power_mean, …_previous W     horodated load curve points
//	CCAIN, CCAIN-1          active_power_injected_mean, …_previous  W  horodated
//	VTIC NGTF LTARF NTARF STGE DPM1..3 FPM1..3 MSG1 MSG2 PRM RELAIS NJOURF
//	NJOURF+1 PJOURF+1 PPOINTE: text, not readings
//
// Reading.Field is the label. IRMS1 and URMS1 name a single-phase
// meter's current and voltage, and phase 1 of a three-phase meter: they
// become current_l1 and voltage_l1 once the stream has shown a phase 2 or
// 3 label (IRMS2, URMS2, SINSTS1…). A reading takes its own horodate as
// Time (SMAXSN, CCASN…), else the frame's DATE; historique frames carry
// no time. Source is the frame's ADCO/ADSC, or the last one the stream
// gave when that group was lost. Any other label is listed in
// Result.Unknown ("unknown label").
//
// A horodate's season letter gives the offset of French legal time: E
// (été) UTC+2, H (hiver) UTC+1; the lower-case letters (the meter's clock
// is degraded) are read alike; a blank season letter falls back to the
// European summer-time rule.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// TIC control characters.
const (
	ticSTX = 0x02 // start of frame
	ticETX = 0x03 // end of frame
	ticEOT = 0x04 // frame interrupted
	ticHT  = 0x09 // separator, mode standard
	ticLF  = 0x0A // start of group
	ticCR  = 0x0D // end of group
	ticSP  = 0x20 // separator, mode historique
)

// ticMaxFrame bounds a frame: a full three-phase standard frame, with
// its 98-character day profiles, is about 1.5 KiB; a longer frame is
// noise or a lost ETX, and dropped.
const ticMaxFrame = 4096

// TICMode is the TIC mode a meter is set to.
type TICMode int

const (
	// TICAuto detects the mode group by group: a group separated by HT is
	// standard, one separated by SP historique. Not a baud rate: see
	// [OpenTIC].
	TICAuto TICMode = iota
	// TICHistorique is the mode of the meters before Linky, and Linky's
	// default: 1200 baud, SP separators.
	TICHistorique
	// TICStandard is Linky's newer mode: 9600 baud, HT separators,
	// horodates.
	TICStandard
)

func (m TICMode) String() string {
	switch m {
	case TICAuto:
		return "auto"
	case TICHistorique:
		return "historique"
	case TICStandard:
		return "standard"
	}
	return fmt.Sprintf("TICMode(%d)", int(m))
}

// ErrTICMode is returned for a TIC mode name or value that is not one.
var ErrTICMode = errors.New("unknown TIC mode")

// ParseTICMode reads a mode as a command line writes it: "auto" (or
// empty), "historique" ("historic"), "standard".
func ParseTICMode(s string) (TICMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return TICAuto, nil
	case "historique", "historic":
		return TICHistorique, nil
	case "standard":
		return TICStandard, nil
	}
	return TICAuto, fmt.Errorf("%w: %q (auto, historique, standard)", ErrTICMode, s)
}

// TIC returns the decoder of Linky TIC streams in either mode, detected
// from the stream.
func TIC() StreamDecoder { return ticDecoder{mode: TICAuto} }

// TICWithMode returns the decoder of TIC streams in the given mode only:
// a group of the other mode is reported as malformed.
func TICWithMode(mode TICMode) StreamDecoder { return ticDecoder{mode: mode} }

type ticDecoder struct{ mode TICMode }

// DecodeStream implements [StreamDecoder]. The high bit of every byte is
// masked: a 7E1 line read as 8N1 carries its parity bit there.
func (d ticDecoder) DecodeStream(r io.Reader, emit func(Result) error) error {
	s := ticStream{mode: d.mode}
	buf := make([]byte, 512)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if res, ok := s.feed(c); ok {
				if eerr := emit(res); eerr != nil {
					return eerr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tic: %w", err)
		}
	}
}

// ticChecksum is the checksum character of the bytes it covers.
func ticChecksum(b []byte) byte {
	var sum uint
	for _, c := range b {
		sum += uint(c)
	}
	return byte(sum&0x3F) + 0x20
}

// ticGroup is one group of a frame, parsed.
type ticGroup struct {
	label, horodate, data string
	err                   *FieldError // malformed or bad checksum
}

// ticStream is the state of one stream: the frame being read and what
// earlier frames told.
type ticStream struct {
	mode TICMode

	inFrame, inGroup bool
	size             int
	group            []byte
	groups           []ticGroup

	address    string // last valid ADCO/ADSC
	threePhase bool   // a phase 2 or 3 label was seen
}

func (s *ticStream) drop() {
	s.inFrame, s.inGroup = false, false
	s.size = 0
	s.group = s.group[:0]
	s.groups = s.groups[:0]
}

// feed reads one byte; it returns the Result of a frame that ends.
func (s *ticStream) feed(c byte) (Result, bool) {
	c &= 0x7F
	if c == ticSTX {
		s.drop()
		s.inFrame = true
		return Result{}, false
	}
	if !s.inFrame {
		return Result{}, false // noise between frames
	}
	s.size++
	if s.size > ticMaxFrame {
		s.drop()
		return Result{}, false
	}
	switch {
	case c == ticEOT:
		s.drop()
	case c == ticETX:
		if s.inGroup { // cut in a group
			s.drop()
			return Result{}, false
		}
		res, ok := s.result()
		s.drop()
		return res, ok
	case c == ticLF:
		if s.inGroup { // CR lost
			s.drop()
			return Result{}, false
		}
		s.inGroup = true
		s.group = s.group[:0]
	case c == ticCR:
		if !s.inGroup { // LF lost
			s.drop()
			return Result{}, false
		}
		s.inGroup = false
		s.groups = append(s.groups, s.parseGroup(s.group))
	default:
		if !s.inGroup { // noise between groups
			s.drop()
			return Result{}, false
		}
		s.group = append(s.group, c)
	}
	return Result{}, false
}

// parseGroup checks a group's structure and checksum; g holds what is
// between LF and CR.
func (s *ticStream) parseGroup(g []byte) ticGroup {
	std := s.mode == TICStandard || (s.mode == TICAuto && bytes.IndexByte(g, ticHT) >= 0)
	sep := byte(ticSP)
	if std {
		sep = ticHT
	}
	malformed := func() ticGroup {
		label := g
		if i := bytes.IndexByte(g, sep); i >= 0 {
			label = g[:i]
		}
		return ticGroup{err: &FieldError{Field: printable(label), Reason: "malformed group"}}
	}
	n := len(g)
	if n < 3 || g[n-2] != sep {
		return malformed()
	}
	// The checksum covers the last separator in mode standard only.
	covered := g[:n-2]
	if std {
		covered = g[:n-1]
	}
	body := g[:n-2]
	i := bytes.IndexByte(body, sep)
	if i <= 0 {
		return malformed()
	}
	out := ticGroup{label: string(body[:i]), data: string(body[i+1:])}
	if std {
		if j := strings.IndexByte(out.data, ticHT); j >= 0 {
			out.horodate, out.data = out.data[:j], out.data[j+1:]
			if strings.IndexByte(out.data, ticHT) >= 0 {
				return malformed()
			}
		}
	}
	if got, want := g[n-1], ticChecksum(covered); got != want {
		return ticGroup{err: &FieldError{Field: printable([]byte(out.label)), Reason: fmt.Sprintf("checksum 0x%02X expected 0x%02X", got, want)}}
	}
	return out
}

// printable quotes a label for a FieldError when it holds control
// characters.
func printable(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return fmt.Sprintf("%q", b)
		}
	}
	return string(b)
}

// ticKind says what a label is.
type ticKind int

const (
	ticText    ticKind = iota // not a reading
	ticNumber                 // a reading
	ticAddress                // the meter's address: Source
	ticDate                   // the frame's time
)

// ticLabel is what a label means.
type ticLabel struct {
	kind     ticKind
	quantity string
	unit     string
	scale    float64 // value = data × scale; 0 means 1
	phase1   bool    // IRMS1, URMS1…: "_l1" on a three-phase meter
	horodate bool    // the group carries the time of its value
}

func num(q, u string) ticLabel { return ticLabel{kind: ticNumber, quantity: q, unit: u} }

// ticLabels maps each label of both modes (they share none) to its
// meaning; see the table at the top of this file.
var ticLabels = func() map[string]ticLabel {
	m := map[string]ticLabel{
		// Historique.
		"ADCO":    {kind: ticAddress},
		"BASE":    num("energy", "Wh"),
		"ISOUSC":  num("subscribed_current", "A"),
		"IINST":   num("current", "A"),
		"IMAX":    num("current_max", "A"),
		"ADPS":    num("current_overrun", "A"),
		"PAPP":    num("apparent_power", "VA"),
		"PMAX":    num("power_max", "W"),
		"PEJP":    num("ejp_notice", "min"),
		"OPTARIF": {}, "PTEC": {}, "DEMAIN": {}, "HHPHC": {}, "MOTDETAT": {}, "PPOT": {},

		// Standard.
		"ADSC":     {kind: ticAddress},
		"DATE":     {kind: ticDate},
		"EAST":     num("energy", "Wh"),
		"EAIT":     num("energy_injected", "Wh"),
		"IRMS1":    {kind: ticNumber, quantity: "current", unit: "A", phase1: true},
		"URMS1":    {kind: ticNumber, quantity: "voltage", unit: "V", phase1: true},
		"UMOY1":    {kind: ticNumber, quantity: "voltage_mean", unit: "V", phase1: true, horodate: true},
		"PREF":     {kind: ticNumber, quantity: "apparent_power_subscribed", unit: "VA", scale: 1000},
		"PCOUP":    {kind: ticNumber, quantity: "apparent_power_cutoff", unit: "VA", scale: 1000},
		"SINSTS":   num("apparent_power", "VA"),
		"SMAXSN":   {kind: ticNumber, quantity: "apparent_power_max", unit: "VA", horodate: true},
		"SMAXSN-1": {kind: ticNumber, quantity: "apparent_power_max_previous", unit: "VA", horodate: true},
		"SINSTI":   num("apparent_power_injected", "VA"),
		"SMAXIN":   {kind: ticNumber, quantity: "apparent_power_injected_max", unit: "VA", horodate: true},
		"SMAXIN-1": {kind: ticNumber, quantity: "apparent_power_injected_max_previous", unit: "VA", horodate: true},
		"CCASN":    {kind: ticNumber, quantity: "active_power_mean", unit: "W", horodate: true},
		"CCASN-1":  {kind: ticNumber, quantity: "active_power_mean_previous", unit: "W", horodate: true},
		"CCAIN":    {kind: ticNumber, quantity: "active_power_injected_mean", unit: "W", horodate: true},
		"CCAIN-1":  {kind: ticNumber, quantity: "active_power_injected_mean_previous", unit: "W", horodate: true},
		"VTIC":     {},
		"NGTF":     {},
		"LTARF":    {},
		"NTARF":    {},
		"STGE":     {},
		"MSG1":     {},
		"MSG2":     {},
		"PRM":      {},
		"RELAIS":   {},
		"NJOURF":   {},
		"NJOURF+1": {},
		"PJOURF+1": {},
		"PPOINTE":  {},
		"DPM1":     {},
		"DPM2":     {},
		"DPM3":     {},
		"FPM1":     {},
		"FPM2":     {},
		"FPM3":     {},
	}
	for _, l := range []string{"HCHC", "HCHP", "EJPHN", "EJPHPM", "BBRHCJB", "BBRHPJB", "BBRHCJW", "BBRHPJW", "BBRHCJR", "BBRHPJR"} {
		m[l] = num("energy_"+strings.ToLower(l), "Wh")
	}
	for i := 1; i <= 10; i++ {
		m[fmt.Sprintf("EASF%02d", i)] = num(fmt.Sprintf("energy_easf%02d", i), "Wh")
	}
	for i := 1; i <= 4; i++ {
		m[fmt.Sprintf("EASD%02d", i)] = num(fmt.Sprintf("energy_easd%02d", i), "Wh")
		m[fmt.Sprintf("ERQ%d", i)] = num(fmt.Sprintf("reactive_energy_q%d", i), "varh")
	}
	for p := 1; p <= 3; p++ {
		l := fmt.Sprintf("_l%d", p)
		m[fmt.Sprintf("IINST%d", p)] = num("current"+l, "A")
		m[fmt.Sprintf("IMAX%d", p)] = num("current_max"+l, "A")
		m[fmt.Sprintf("ADIR%d", p)] = num("current_overrun"+l, "A")
		m[fmt.Sprintf("SINSTS%d", p)] = num("apparent_power"+l, "VA")
		m[fmt.Sprintf("SMAXSN%d", p)] = ticLabel{kind: ticNumber, quantity: "apparent_power_max" + l, unit: "VA", horodate: true}
		m[fmt.Sprintf("SMAXSN%d-1", p)] = ticLabel{kind: ticNumber, quantity: "apparent_power_max_previous" + l, unit: "VA", horodate: true}
		if p > 1 {
			m[fmt.Sprintf("IRMS%d", p)] = num("current"+l, "A")
			m[fmt.Sprintf("URMS%d", p)] = num("voltage"+l, "V")
			m[fmt.Sprintf("UMOY%d", p)] = ticLabel{kind: ticNumber, quantity: "voltage_mean" + l, unit: "V", horodate: true}
		}
	}
	return m
}()

// ticThreePhase lists the labels only a three-phase meter sends.
var ticThreePhase = map[string]bool{
	"IRMS2": true, "IRMS3": true, "URMS2": true, "URMS3": true,
	"SINSTS1": true, "SINSTS2": true, "SINSTS3": true,
	"IINST2": true, "IINST3": true,
}

// result turns the groups of a complete frame into its Result.
func (s *ticStream) result() (Result, bool) {
	if len(s.groups) == 0 {
		return Result{}, false
	}
	var res Result
	var frameTime time.Time
	source := ""
	for _, g := range s.groups {
		if g.err != nil {
			continue
		}
		if ticThreePhase[g.label] {
			s.threePhase = true
		}
		switch ticLabels[g.label].kind {
		case ticAddress:
			if g.data != "" && g.horodate == "" {
				source = g.data
			}
		case ticDate:
			t, err := parseHorodate(g.horodate)
			if err != nil {
				res.Unknown = append(res.Unknown, FieldError{Field: g.label, Reason: err.Error()})
				continue
			}
			frameTime = t
		}
	}
	if source != "" {
		s.address = source
	}
	for _, g := range s.groups {
		if g.err != nil {
			res.Unknown = append(res.Unknown, *g.err)
			continue
		}
		l, known := ticLabels[g.label]
		if !known {
			res.Unknown = append(res.Unknown, FieldError{Field: g.label, Reason: "unknown label"})
			continue
		}
		if l.kind != ticNumber {
			continue
		}
		v, ok := ticDigits(g.data)
		if !ok {
			res.Unknown = append(res.Unknown, FieldError{Field: g.label, Reason: fmt.Sprintf("not a number: %q", g.data)})
			continue
		}
		if l.scale != 0 {
			v *= l.scale
		}
		t := frameTime
		if l.horodate {
			ht, err := parseHorodate(g.horodate)
			if err != nil {
				res.Unknown = append(res.Unknown, FieldError{Field: g.label, Reason: err.Error()})
				continue
			}
			t = ht
		}
		q := l.quantity
		if l.phase1 && s.threePhase {
			q += "_l1"
		}
		res.Readings = append(res.Readings, Reading{
			Source: s.address, Field: g.label, Quantity: q, Unit: l.unit, Value: v, Time: t,
		})
	}
	// A frame of text groups only (or a frame lost to noise) says nothing.
	return res, len(res.Readings)+len(res.Unknown) > 0
}

// ticDigits reads a TIC number: 1 to 15 decimal digits, zero-padded.
func ticDigits(s string) (float64, bool) {
	if s == "" || len(s) > 15 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return float64(v), true
}

// French legal time.
var (
	ticSummer = time.FixedZone("CEST", 2*3600)
	ticWinter = time.FixedZone("CET", 1*3600)
)

// parseHorodate reads a TIC horodate, SAAMMJJhhmmss: S the season (E
// summer, H winter, lower case when the meter's clock is degraded, blank
// when unknown), then the local date and time.
func parseHorodate(h string) (time.Time, error) {
	if len(h) != 13 {
		return time.Time{}, fmt.Errorf("horodate %q: not SAAMMJJhhmmss", h)
	}
	var d [6]int
	for i := range d {
		a, b := h[1+2*i], h[2+2*i]
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return time.Time{}, fmt.Errorf("horodate %q: not SAAMMJJhhmmss", h)
		}
		d[i] = int(a-'0')*10 + int(b-'0')
	}
	year, month, day, hour, min, sec := 2000+d[0], time.Month(d[1]), d[2], d[3], d[4], d[5]
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("horodate %q: no such date", h)
	}
	var zone *time.Location
	switch h[0] {
	case 'E', 'e':
		zone = ticSummer
	case 'H', 'h':
		zone = ticWinter
	case ' ':
		zone = frenchZone(year, month, day, hour)
	default:
		return time.Time{}, fmt.Errorf("horodate %q: season %q is not E, H or blank", h, h[0])
	}
	t := time.Date(year, month, day, hour, min, sec, 0, zone)
	if t.Day() != day { // 31 April…
		return time.Time{}, fmt.Errorf("horodate %q: no such date", h)
	}
	return t, nil
}

// frenchZone applies the European summer-time rule (from the last Sunday
// of March to the last Sunday of October, at 01:00 UTC) to a local
// time; the repeated hour of October is read as summer time.
func frenchZone(year int, month time.Month, day, hour int) *time.Location {
	lastSunday := func(m time.Month) time.Time {
		t := time.Date(year, m+1, 0, 1, 0, 0, 0, time.UTC) // last day of m
		return t.AddDate(0, 0, -int(t.Weekday()))
	}
	start, end := lastSunday(time.March), lastSunday(time.October)
	asWinter := time.Date(year, month, day, hour, 0, 0, 0, ticWinter)
	asSummer := time.Date(year, month, day, hour, 0, 0, 0, ticSummer)
	if !asWinter.Before(start) && asSummer.Before(end) {
		return ticSummer
	}
	return ticWinter
}
