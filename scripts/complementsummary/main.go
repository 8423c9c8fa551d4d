// Command complementsummary reads the `go test -json` stream of a Complement
// run on standard input and turns it into Myelin's Complement report:
//
//   - -results FILE: one JSON line per test and subtest,
//     {"package":...,"name":...,"result":"pass"|"fail"|"skip"}, sorted by
//     package and name so that runs diff cleanly;
//   - -failures FILE (optional): every failed test with its failure
//     message: the last line it logged through t.Log/t.Error ("file.go:N:
//     ...") that is not one of Complement's request logs or warnings, else
//     the failed subtests below it that have such a message, else its last
//     line;
//   - standard output: per package, the counts of top-level tests and of all
//     tests, the failed top-level tests, and as the last line
//     "N passed, M failed, K skipped" over the top-level tests of every
//     package;
//   - standard error: one line per finished top-level test while it runs.
//
// Test failures are the product, not an error: it exits 0 when tests fail.
// It exits 1 when a package failed to build or set up, or when the stream
// holds no test at all, because then the counts mean nothing.
//
// It is run by scripts/complement.sh.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (see `go doc cmd/test2json`), or a
// build event (`go doc cmd/go`, "go build -json") interleaved with them.
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
	ImportPath  string // build events
}

// result is one line of the results file.
type result struct {
	Package string `json:"package"`
	Name    string `json:"name"`
	Result  string `json:"result"`
}

type testKey struct{ pkg, name string }

type testState struct {
	result   string // "" while running
	lastLine string // last non-empty output line
	reason   string // last line that looks like a failure message

	subtestsFailed []string // names below this test, for its reason
}

// testLogLine matches output of t.Log and t.Error: "file.go:123: message".
var testLogLine = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// ansiEscape matches the colour codes Complement puts around messages.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// isReason reports whether a test log line can explain a failure: it is not
// a request log ("[CSAPI] POST ... => 200") or a timing line.
func isReason(line string) bool {
	return testLogLine.MatchString(line) && !strings.Contains(line, "[CSAPI] ") && !strings.Contains(line, "[FED] ") &&
		!strings.Contains(line, "Deploy times: ") && !strings.Contains(line, "WARNING: ")
}

func (st *testState) why() string {
	if st.reason != "" {
		return st.reason
	}
	return st.lastLine
}

// report accumulates the stream.
type report struct {
	tests       map[testKey]*testState
	buildFailed map[string]bool // package or import path → failed to build or set up
	packages    map[string]bool
	progress    io.Writer
}

func newReport(progress io.Writer) *report {
	return &report{tests: map[testKey]*testState{}, buildFailed: map[string]bool{}, packages: map[string]bool{}, progress: progress}
}

func (r *report) add(ev event) {
	switch ev.Action {
	case "build-fail":
		r.buildFailed[ev.ImportPath] = true
		return
	case "build-output":
		return
	}
	if ev.Package == "" {
		return
	}
	r.packages[ev.Package] = true
	if ev.Test == "" {
		if ev.Action == "fail" && ev.FailedBuild != "" {
			r.buildFailed[ev.FailedBuild] = true
		}
		if ev.Action == "output" && (strings.Contains(ev.Output, "[build failed]") || strings.Contains(ev.Output, "[setup failed]")) {
			r.buildFailed[ev.Package] = true
		}
		return
	}
	k := testKey{ev.Package, ev.Test}
	st := r.tests[k]
	if st == nil {
		st = &testState{}
		r.tests[k] = st
	}
	switch ev.Action {
	case "output":
		line := strings.TrimSpace(ansiEscape.ReplaceAllString(ev.Output, ""))
		if line == "" || strings.HasPrefix(line, "=== ") || strings.HasPrefix(line, "--- ") {
			return
		}
		st.lastLine = line
		if isReason(line) {
			st.reason = line
		}
	case "pass", "fail", "skip":
		st.result = ev.Action
		if !strings.Contains(ev.Test, "/") && r.progress != nil {
			fmt.Fprintf(r.progress, "%s %s (%.1fs)\n", strings.ToUpper(ev.Action), ev.Test, ev.Elapsed)
		}
	}
}

// finish marks tests that never reported a result (the binary crashed or
// timed out) as failed, and explains failed tests that logged no failure
// message by their failed subtests.
func (r *report) finish() {
	for _, st := range r.tests {
		if st.result == "" {
			st.result = "fail"
			st.reason = "no result: the test binary crashed or timed out; last output: " + st.lastLine
		}
	}
	// Each failed test with a message of its own is listed under every
	// ancestor that has none, by its name relative to that ancestor.
	for _, k := range r.sortedKeys() {
		if st := r.tests[k]; st.result != "fail" || st.reason == "" {
			continue
		}
		for i := strings.LastIndex(k.name, "/"); i >= 0; i = strings.LastIndex(k.name[:i], "/") {
			if anc := r.tests[testKey{k.pkg, k.name[:i]}]; anc != nil && anc.reason == "" {
				anc.subtestsFailed = append(anc.subtestsFailed, k.name[i+1:])
			}
		}
	}
	for _, st := range r.tests {
		if st.reason == "" && len(st.subtestsFailed) > 0 {
			st.reason = "failed subtests: " + strings.Join(st.subtestsFailed, ", ")
		}
	}
}

func (r *report) sortedKeys() []testKey {
	keys := make([]testKey, 0, len(r.tests))
	for k := range r.tests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].pkg != keys[j].pkg {
			return keys[i].pkg < keys[j].pkg
		}
		return keys[i].name < keys[j].name
	})
	return keys
}

func (r *report) writeResults(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, k := range r.sortedKeys() {
		if err := enc.Encode(result{Package: k.pkg, Name: k.name, Result: r.tests[k].result}); err != nil {
			return err
		}
	}
	return nil
}

func (r *report) writeFailures(w io.Writer) {
	for _, k := range r.sortedKeys() {
		if st := r.tests[k]; st.result == "fail" {
			fmt.Fprintf(w, "%s %s\n\t%s\n", k.pkg, k.name, st.why())
		}
	}
}

type counts struct{ pass, fail, skip int }

func (c *counts) add(res string) {
	switch res {
	case "pass":
		c.pass++
	case "fail":
		c.fail++
	case "skip":
		c.skip++
	}
}

func (c counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.pass, c.fail, c.skip)
}

func (r *report) writeSummary(w io.Writer) {
	var pkgs []string
	for p := range r.packages {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	var total counts
	for _, p := range pkgs {
		var top, all counts
		var failed []string
		for _, k := range r.sortedKeys() {
			if k.pkg != p {
				continue
			}
			res := r.tests[k].result
			all.add(res)
			if !strings.Contains(k.name, "/") {
				top.add(res)
				if res == "fail" {
					failed = append(failed, k.name)
				}
			}
		}
		total.pass += top.pass
		total.fail += top.fail
		total.skip += top.skip
		fmt.Fprintf(w, "%s\n  top-level tests: %s\n  with subtests:   %s\n", p, top, all)
		if r.buildFailed[p] {
			fmt.Fprintf(w, "  BUILD OR SETUP FAILED\n")
		}
		if len(failed) > 0 {
			fmt.Fprintf(w, "  failed: %s\n", strings.Join(failed, " "))
		}
	}
	fmt.Fprintln(w, total)
}

func main() {
	resultsPath := flag.String("results", "", "write one JSON line per test and subtest to this file (required)")
	failuresPath := flag.String("failures", "", "write failed tests with their last logged line to this file")
	quiet := flag.Bool("q", false, "do not print finished top-level tests to standard error")
	flag.Parse()
	if *resultsPath == "" {
		fmt.Fprintln(os.Stderr, "complementsummary: -results is required")
		os.Exit(2)
	}
	var progress io.Writer = os.Stderr
	if *quiet {
		progress = nil
	}
	if err := run(os.Stdin, os.Stdout, progress, *resultsPath, *failuresPath); err != nil {
		fmt.Fprintln(os.Stderr, "complementsummary:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out, progress io.Writer, resultsPath, failuresPath string) error {
	r := newReport(progress)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			// go test prints some errors (e.g. a bad package path) as text.
			fmt.Fprintf(out, "go test: %s\n", line)
			if len(line) > 0 {
				r.buildFailed["(go test)"] = true
			}
			continue
		}
		r.add(ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading go test output: %w", err)
	}
	r.finish()
	if err := writeFile(resultsPath, r.writeResults); err != nil {
		return err
	}
	if failuresPath != "" {
		if err := writeFile(failuresPath, func(w io.Writer) error { r.writeFailures(w); return nil }); err != nil {
			return err
		}
	}
	r.writeSummary(out)
	var errs []error
	var broken []string
	for p := range r.buildFailed {
		broken = append(broken, p)
	}
	sort.Strings(broken)
	if len(broken) > 0 {
		errs = append(errs, fmt.Errorf("build or setup failed: %s", strings.Join(broken, ", ")))
	}
	if len(r.tests) == 0 {
		errs = append(errs, errors.New("no test ran"))
	}
	return errors.Join(errs...)
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	werr := write(bw)
	if err := errors.Join(werr, bw.Flush(), f.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
