package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stream is a go test -json run in the shape Complement produces: a
// blueprint-level failure with request logs and server logs after the
// failure message, subtests, a skip, and a test cut off by a crash.
const stream = `{"Action":"start","Package":"example/tests/csapi"}
{"Action":"run","Package":"example/tests/csapi","Test":"TestVersionStructure"}
{"Action":"run","Package":"example/tests/csapi","Test":"TestVersionStructure/Version_responds_200_OK_with_valid_structure"}
{"Action":"pass","Package":"example/tests/csapi","Test":"TestVersionStructure/Version_responds_200_OK_with_valid_structure","Elapsed":0}
{"Action":"pass","Package":"example/tests/csapi","Test":"TestVersionStructure","Elapsed":2.9}
{"Action":"run","Package":"example/tests/csapi","Test":"TestLogin"}
{"Action":"output","Package":"example/tests/csapi","Test":"TestLogin","Output":"    apidoc_login_test.go:20: Deploy times: 3.4s blueprints, 3.1s containers\n"}
{"Action":"output","Package":"example/tests/csapi","Test":"TestLogin","Output":"    client.go:860: [CSAPI] POST hs1/_matrix/client/v3/register => 404 Not Found (1.8ms)\n"}
{"Action":"output","Package":"example/tests/csapi","Test":"TestLogin","Output":"    deployment.go:133: \u001b[31mCSAPI.MustDo POST /register returned non-2xx code: 404 Not Found\u001b[39m\n"}
{"Action":"output","Package":"example/tests/csapi","Test":"TestLogin","Output":"2026/11/27 07:34:58 ============== abc : END LOGS ==============\n"}
{"Action":"output","Package":"example/tests/csapi","Test":"TestLogin","Output":"--- FAIL: TestLogin (7.18s)\n"}
{"Action":"fail","Package":"example/tests/csapi","Test":"TestLogin","Elapsed":7.18}
{"Action":"run","Package":"example/tests/csapi","Test":"TestSkipped"}
{"Action":"skip","Package":"example/tests/csapi","Test":"TestSkipped","Elapsed":0}
{"Action":"run","Package":"example/tests/csapi","Test":"TestCrash"}
{"Action":"run","Package":"example/tests/csapi","Test":"TestCrash/sub"}
{"Action":"output","Package":"example/tests/csapi","Test":"TestCrash/sub","Output":"panic: boom\n"}
{"Action":"run","Package":"example/tests/csapi","Test":"TestParent"}
{"Action":"run","Package":"example/tests/csapi","Test":"TestParent/a"}
{"Action":"output","Package":"example/tests/csapi","Test":"TestParent","Output":"    sync_test.go:112: WARNING: TestSync called runtime.SkipIf([dendrite])\n"}
{"Action":"output","Package":"example/tests/csapi","Test":"TestParent/a","Output":"    x_test.go:1: boom\n"}
{"Action":"fail","Package":"example/tests/csapi","Test":"TestParent/a","Elapsed":0}
{"Action":"run","Package":"example/tests/csapi","Test":"TestParent/b"}
{"Action":"run","Package":"example/tests/csapi","Test":"TestParent/b/deep"}
{"Action":"output","Package":"example/tests/csapi","Test":"TestParent/b/deep","Output":"    y_test.go:2: deep failure\n"}
{"Action":"fail","Package":"example/tests/csapi","Test":"TestParent/b/deep","Elapsed":0}
{"Action":"fail","Package":"example/tests/csapi","Test":"TestParent/b","Elapsed":0}
{"Action":"fail","Package":"example/tests/csapi","Test":"TestParent","Elapsed":0}
{"Action":"fail","Package":"example/tests/csapi","Elapsed":20}
`

func TestReport(t *testing.T) {
	dir := t.TempDir()
	results, failures := filepath.Join(dir, "results.jsonl"), filepath.Join(dir, "failures.txt")
	var out, progress bytes.Buffer
	if err := run(strings.NewReader(stream), &out, &progress, results, failures); err != nil {
		t.Fatalf("run: %v", err)
	}
	got, _ := os.ReadFile(results)
	want := `{"package":"example/tests/csapi","name":"TestCrash","result":"fail"}
{"package":"example/tests/csapi","name":"TestCrash/sub","result":"fail"}
{"package":"example/tests/csapi","name":"TestLogin","result":"fail"}
{"package":"example/tests/csapi","name":"TestParent","result":"fail"}
{"package":"example/tests/csapi","name":"TestParent/a","result":"fail"}
{"package":"example/tests/csapi","name":"TestParent/b","result":"fail"}
{"package":"example/tests/csapi","name":"TestParent/b/deep","result":"fail"}
{"package":"example/tests/csapi","name":"TestSkipped","result":"skip"}
{"package":"example/tests/csapi","name":"TestVersionStructure","result":"pass"}
{"package":"example/tests/csapi","name":"TestVersionStructure/Version_responds_200_OK_with_valid_structure","result":"pass"}
`
	if string(got) != want {
		t.Errorf("results =\n%s\nwant\n%s", got, want)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; last != "1 passed, 3 failed, 1 skipped" {
		t.Errorf("last summary line = %q\n%s", last, out.String())
	}
	for _, want := range []string{"with subtests:   2 passed, 7 failed, 1 skipped", "failed: TestCrash TestLogin TestParent"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	f, _ := os.ReadFile(failures)
	for _, want := range []string{
		"TestLogin\n\tdeployment.go:133: CSAPI.MustDo POST /register returned non-2xx code: 404 Not Found\n",
		"TestParent\n\tfailed subtests: a, b/deep\n",
		"TestParent/b\n\tfailed subtests: deep\n",
		"TestCrash/sub\n\tno result: the test binary crashed or timed out; last output: panic: boom\n",
	} {
		if !strings.Contains(string(f), want) {
			t.Errorf("failures lack %q:\n%s", want, f)
		}
	}
	if !strings.Contains(progress.String(), "FAIL TestLogin (7.2s)\n") {
		t.Errorf("progress = %q", progress.String())
	}
}

func TestBuildFailureFails(t *testing.T) {
	for name, in := range map[string]string{
		"build-fail event": `{"ImportPath":"example/tests/csapi [example/tests/csapi.test]","Action":"build-output","Output":"x.go:1: undefined: y\n"}
{"ImportPath":"example/tests/csapi [example/tests/csapi.test]","Action":"build-fail"}
{"Action":"start","Package":"example/tests/csapi"}
{"Action":"output","Package":"example/tests/csapi","Output":"FAIL\texample/tests/csapi [build failed]\n"}
{"Action":"fail","Package":"example/tests/csapi","Elapsed":0,"FailedBuild":"example/tests/csapi [example/tests/csapi.test]"}
`,
		"setup failed": `{"Action":"start","Package":"./tests/nope"}
{"Action":"output","Package":"./tests/nope","Output":"FAIL\t./tests/nope [setup failed]\n"}
{"Action":"fail","Package":"./tests/nope","Elapsed":0}
`,
		"text from go test": "no Go files in /x\n",
		"nothing ran":       "",
	} {
		dir := t.TempDir()
		var out bytes.Buffer
		err := run(strings.NewReader(in), &out, nil, filepath.Join(dir, "r.jsonl"), "")
		if err == nil {
			t.Errorf("%s: no error; summary:\n%s", name, out.String())
		}
	}
}
