package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// applyConfigFile sets the flags of fs from a YAML file of settings named
// like the flags (`data: /var/lib/adgang`, `decision-addr: …`, `log-level:
// debug`); underscores may stand for dashes. A flag given on the command
// line or through its ADGANG_* environment variable wins over the file.
// An unknown name, a value of the wrong type or --config itself in the
// file is an error. An empty path does nothing.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var settings map[string]any
	if err := yaml.Unmarshal(b, &settings); err != nil {
		return fmt.Errorf("--config %s: not a YAML mapping of settings: %w", path, err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)
	var errs []error
	for _, key := range names {
		name := strings.ReplaceAll(strings.ToLower(key), "_", "-")
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			errs = append(errs, fmt.Errorf("--config %s: unknown setting %q (settings are named like the flags of `adgang serve -h`)", path, key))
			continue
		}
		env := "ADGANG_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if given[name] || os.Getenv(env) != "" {
			continue // the command line and the environment win
		}
		var value string
		switch v := settings[key].(type) {
		case nil:
			continue
		case string:
			value = v
		case bool, int, int64, uint64, float64:
			value = fmt.Sprint(v)
		default:
			errs = append(errs, fmt.Errorf("--config %s: %s must be a single value", path, key))
			continue
		}
		if err := fs.Set(name, value); err != nil {
			errs = append(errs, fmt.Errorf("--config %s: %s: %w", path, key, err))
		}
	}
	return errors.Join(errs...)
}
