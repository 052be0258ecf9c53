package csvgroup

import (
	"encoding/csv"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const input = "city,amount,note\n" +
	"Lyon,10,\"a, b\"\n" +
	"Oslo,5,x\n" +
	"Lyon,20,\"multi\nline \"\"quoted\"\"\"\n" +
	"Quito,1,y\n" +
	"Oslo,7,z\n"

// read returns a group file's records.
func read(t *testing.T, g *Group) [][]string {
	t.Helper()
	f, err := os.Open(g.File)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestSplit(t *testing.T) {
	for _, budget := range []int64{1 << 20, 1} { // in memory, and spilling after every row
		groups, cleanup, err := Split(strings.NewReader(input), Options{By: []string{"city"}, Budget: budget})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for g, err := range groups {
			if err != nil {
				t.Fatal(err)
			}
			recs := read(t, g)
			if strings.Join(recs[0], ",") != "city,amount,note" {
				t.Errorf("group %d has no header: %q", g.Seq, recs)
			}
			var amounts []string
			for _, r := range recs[1:] {
				amounts = append(amounts, r[1])
			}
			got = append(got, fmt.Sprintf("%d %s %s", g.Seq, g.Key[0], strings.Join(amounts, "+")))
			if g.Key[0] == "Lyon" && recs[2][2] != "multi\nline \"quoted\"" {
				t.Errorf("quoted field: %q", recs[2][2])
			}
		}
		if s := strings.Join(got, "|"); s != "1 Lyon 10+20|2 Oslo 5+7|3 Quito 1" {
			t.Errorf("budget %d: groups %q", budget, s)
		}
		cleanup()
	}
}

func TestSplitSortedAndSeveralKeys(t *testing.T) {
	in := "a,b,v\n1,x,1\n1,x,2\n1,y,3\n2,y,4\n1,x,5\n"
	groups, cleanup, err := Split(strings.NewReader(in), Options{By: []string{"a", "b"}, Sorted: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	var got []string
	for g, err := range groups {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s:%d", g.Seq, strings.Join(g.Key, "/"), len(read(t, g))-1))
	}
	// sorted mode: a key seen again later starts a new group
	if s := strings.Join(got, " "); s != "1:1/x:2 2:1/y:1 3:2/y:1 4:1/x:1" {
		t.Errorf("groups %q", s)
	}
}

func TestSplitErrors(t *testing.T) {
	for _, tt := range []struct{ in, by, want string }{
		{"", "a", "empty"},
		{"a,b\n1,2\n", "c", `no column "c"`},
		{"a,b\n1,2,3\n", "a", "wrong number of fields"},
		{"a,b\n\"1,2\n", "a", "extraneous or missing"},
	} {
		groups, cleanup, err := Split(strings.NewReader(tt.in), Options{By: []string{tt.by}})
		if err == nil {
			for _, e := range groups {
				err = e
			}
			cleanup()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q by %s: %v, want %q", tt.in, tt.by, err, tt.want)
		}
	}
}
