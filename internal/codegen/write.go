package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Config is what Run needs: the command's flags and arguments.
type Config struct {
	// Patterns name the packages, as for go build; none means ".".
	Patterns []string
	// Tags are build tags.
	Tags []string
	// Types are the model type names; none means every struct type with a
	// field tagged nodb:"key".
	Types []string
	// Output is the file to write all of one package's models to, instead
	// of one <type>_nodb.go per model.
	Output string
	// Command is the command line recorded in the generated files' headers
	// (see [Command] and [HeaderFor]).
	Command string
}

// Run loads the packages, validates the models and writes the generated
// files, all or nothing: invalid models (an [ErrorList]) leave every file
// as it was. When the models were found by their tags (no Types) and
// written one file per model, generated files of the package that no
// model accounts for any more are removed. Run returns the files written
// or removed.
func Run(c Config) (changed []string, err error) {
	pkgs, err := Load(c.Patterns, c.Tags, c.Types)
	if err != nil {
		return nil, err
	}
	if c.Output != "" && len(pkgs) != 1 {
		return nil, fmt.Errorf("nodbgen: -output needs exactly one package, not %d", len(pkgs))
	}
	var files []File
	var remove []string
	for _, p := range pkgs {
		fs, err := Generate(p, c.Output, c.Command)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
		if p.All && c.Output == "" {
			remove = append(remove, Stale(p, fs)...)
		}
	}
	return Write(files, remove)
}

// Stale returns the generated files of p, from an earlier run, that files
// does not rewrite and that are named like the generator's own files
// (*_nodb.go): files of models that were removed or renamed.
func Stale(p *Package, files []File) []string {
	var stale []string
	for _, g := range p.Generated {
		if strings.HasSuffix(g, "_nodb.go") && !slices.ContainsFunc(files, func(f File) bool { return f.Path == g }) {
			stale = append(stale, g)
		}
	}
	return stale
}

// Write writes files, each atomically (a temporary file in the same
// directory renamed over the target), leaving files whose contents are
// already right untouched, then removes the files in remove. It returns
// the paths it changed.
func Write(files []File, remove []string) ([]string, error) {
	var changed []string
	for _, f := range files {
		if old, err := os.ReadFile(f.Path); err == nil && bytes.Equal(old, f.Src) {
			continue
		}
		if err := writeFile(f.Path, f.Src); err != nil {
			return changed, err
		}
		changed = append(changed, f.Path)
	}
	for _, path := range remove {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return changed, fmt.Errorf("nodbgen: removing stale %s: %w", path, err)
		}
		changed = append(changed, path)
	}
	return changed, nil
}

func writeFile(path string, src []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("nodbgen: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("nodbgen: writing %s: %w", path, err)
		}
	}()
	if _, err := tmp.Write(src); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
