package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBundledData(t *testing.T) {
	var out strings.Builder
	if err := run(&out, "", "store", "ad_spend", "revenue", 2); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d lines, want a header and 8 groups:\n%s", len(lines), out.String())
	}
	// sales.csv was generated with revenue = a + b·ad_spend + noise; the
	// fits must find a and b, in first-seen group order.
	want := []struct {
		key  string
		coef string
	}{{"austin", "-0.75"}, {"lyon", "4.00"}, {"porto", "1.99"}, {"oslo", "6.25"}}
	for i, w := range want {
		f := strings.Fields(lines[i+1])
		if f[0] != w.key || f[1] != "600" || !strings.HasPrefix(f[3], w.coef[:4]) {
			t.Errorf("line %d = %q, want %s with 600 rows and coef ≈ %s", i+1, lines[i+1], w.key, w.coef)
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, csv, want string }{
		{"missing column", "store,x\na,1\n", `no column "ad_spend"`},
		{"bad number", "store,ad_spend,revenue\na,1,2\na,zz,3\n", "line 3, column ad_spend"},
		{"one row group", "store,ad_spend,revenue\na,1,2\n", `group "a": 1 rows`},
		{"empty", "", "reading the header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".csv")
			os.WriteFile(p, []byte(tt.csv), 0o600)
			err := run(&strings.Builder{}, p, "store", "ad_spend", "revenue", 2)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}
