package main

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// configSample is the sample configuration file, printed by
// -print-config-sample and shown in README.md.
//
//go:embed config.sample.conf
var configSample string

// readConfigFile reads a configuration file: one `key = value` a line,
// where key is a flag's name (without the dash); blank lines and lines
// starting with # are ignored; a value may be double-quoted (Go syntax).
// Decoding is strict: an unknown key, a key given twice, a line without
// "=" or a value the option does not take is an error naming the file, the
// line and the key. It applies the settings to c.
func readConfigFile(path string, c *Config) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: config file: %v", errUsage, err)
	}
	defer f.Close()
	byName := map[string]option{}
	for _, o := range options() {
		byName[o.name] = o
	}
	seen := map[string]int{}
	var errs []error
	bad := func(line int, key, format string, args ...any) {
		where := fmt.Sprintf("%s:%d", path, line)
		if key != "" {
			where += ": " + key
		}
		errs = append(errs, fmt.Errorf("%w: %s: %s", errUsage, where, fmt.Sprintf(format, args...)))
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" {
			bad(n, "", "%q is not `key = value`", line)
			continue
		}
		o, known := byName[key]
		if !known {
			bad(n, key, "unknown key (keys are the flags' names, see -help)")
			continue
		}
		if first, dup := seen[key]; dup {
			bad(n, key, "set again (first on line %d)", first)
			continue
		}
		seen[key] = n
		if strings.HasPrefix(val, `"`) {
			uq, err := strconv.Unquote(val)
			if err != nil {
				bad(n, key, "%s is not a well-quoted string", val)
				continue
			}
			val = uq
		}
		if err := o.set(c, val); err != nil {
			bad(n, key, "%v", err)
		}
	}
	if err := sc.Err(); err != nil {
		bad(n+1, "", "%v", err)
	}
	return errors.Join(errs...)
}
