// Package myelin_test checks the repository-wide rules of DESIGN.md that a
// compiler cannot: which packages may import which, package naming, and
// package documentation.
package myelin_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type listedPackage struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Deps       []string
	GoFiles    []string
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(out)
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

// coreLayers lists the protocol-core packages from the bottom up. A core
// package may import only the standard library, golang.org/x/crypto and
// core packages below it.
var coreLayers = []string{
	"myelin/internal/spec",
	"myelin/internal/mjson",
	"myelin/internal/signing",
	"myelin/internal/pdu",
	"myelin/internal/eventauth",
	"myelin/internal/stateres",
}

// coreLevel gives each core package its layer; packages on one layer may
// not import each other.
var coreLevel = map[string]int{
	"myelin/internal/spec":      0,
	"myelin/internal/mjson":     1,
	"myelin/internal/signing":   2,
	"myelin/internal/pdu":       3,
	"myelin/internal/eventauth": 4,
	"myelin/internal/stateres":  5,
}

// forbiddenInCore are standard packages that mean I/O, logging or
// cancellation: the protocol core is values in, values out.
var forbiddenInCore = map[string]bool{
	"context": true, "net": true, "net/http": true, "database/sql": true,
	"log": true, "log/slog": true, "os": true, "os/exec": true, "io/ioutil": true,
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") && first != "myelin"
}

func TestCoreImports(t *testing.T) {
	for _, p := range listPackages(t) {
		level, core := coreLevel[p.ImportPath]
		if !core {
			continue
		}
		for _, imp := range p.Imports {
			switch {
			case forbiddenInCore[imp]:
				t.Errorf("%s imports %s: the protocol core does no I/O", p.ImportPath, imp)
			case isStdlib(imp), strings.HasPrefix(imp, "golang.org/x/crypto/"):
			case strings.HasPrefix(imp, "myelin/"):
				l, ok := coreLevel[imp]
				if !ok || l >= level && imp != p.ImportPath {
					t.Errorf("%s imports %s: core packages import only core packages below them", p.ImportPath, imp)
				}
			default:
				t.Errorf("%s imports %s: the core takes only the standard library and x/crypto", p.ImportPath, imp)
			}
		}
	}
}

func TestOracleIsTestOnly(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "github.com/matrix-org/gomatrixserverlib") {
				t.Errorf("%s depends on %s outside tests", p.ImportPath, d)
			}
		}
	}
}

func TestPackageNamesAndDocs(t *testing.T) {
	banned := map[string]bool{"util": true, "utils": true, "common": true, "helpers": true, "types": true, "misc": true}
	for _, p := range listPackages(t) {
		if banned[p.Name] {
			t.Errorf("package %s: the name %q explains nothing", p.ImportPath, p.Name)
		}
		if len(p.GoFiles) > 0 && strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package doc comment", p.ImportPath)
		}
	}
}

// TestServiceLayering checks DESIGN.md's rules above the core: only server
// (and tests' helpers) reach sqlstore or database/sql; services do not
// import net/http, except media for its outbound fetches; httpapi never
// touches storage directly.
func TestServiceLayering(t *testing.T) {
	mayUseSQL := map[string]bool{
		"myelin/internal/sqlstore": true, "myelin/internal/server": true,
		"myelin/internal/testkit/testdb": true, "myelin/cmd/myelin": true,
	}
	mayUseHTTP := map[string]bool{
		"myelin/internal/httpapi": true, "myelin/internal/server": true, "myelin/internal/media": true,
		"myelin/internal/complement": true, "myelin/cmd/myelin": true,
	}
	for _, p := range listPackages(t) {
		if strings.HasPrefix(p.ImportPath, "myelin/scripts/") || strings.HasPrefix(p.ImportPath, "myelin/internal/testkit/testserver") {
			continue
		}
		for _, imp := range p.Imports {
			switch {
			case (imp == "database/sql" || imp == "myelin/internal/sqlstore") && !mayUseSQL[p.ImportPath]:
				t.Errorf("%s imports %s: only server opens the store; services use store interfaces", p.ImportPath, imp)
			case imp == "net/http" && !mayUseHTTP[p.ImportPath]:
				t.Errorf("%s imports net/http: services are transport-free (httpapi serves them)", p.ImportPath)
			}
		}
	}
}
