package filestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

// Environment of the helper processes of TestMultiProcess.
const (
	envHelperID   = "NODB_FILESTORE_HELPER_ID"
	envHelperDir  = "NODB_FILESTORE_HELPER_DIR"  // the store
	envHelperSync = "NODB_FILESTORE_HELPER_SYNC" // barrier files and results
)

const (
	procs  = 2
	rounds = 50
)

// TestMultiProcess runs two processes against one directory. In every round
// both try the same conditional write to one key at the same moment: even
// rounds If-None-Match "*" on a missing key, odd rounds If-Match on the
// version both read. Exactly one must win each round, and the object must
// then hold the winner's body.
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := filepath.Join(t.TempDir(), "store")
	syncDir := t.TempDir()
	open(t, dir) // create the store once, so the helpers do not race on it
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmds := make([]*exec.Cmd, procs)
	outs := make([]strings.Builder, procs)
	for id := range procs {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), envHelperID+"="+strconv.Itoa(id), envHelperDir+"="+dir, envHelperSync+"="+syncDir)
		cmd.Stdout, cmd.Stderr = &outs[id], &outs[id]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[id] = cmd
	}
	for id, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper %d: %v\n%s", id, err, outs[id].String())
		}
	}
	if t.Failed() {
		return
	}
	results := make([][]string, procs) // [id][round] = "win body" or "lose body"
	for id := range procs {
		f, err := os.Open(filepath.Join(syncDir, fmt.Sprintf("result-%d", id)))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			results[id] = append(results[id], sc.Text())
		}
		f.Close()
		if len(results[id]) != rounds {
			t.Fatalf("helper %d reported %d rounds, want %d", id, len(results[id]), rounds)
		}
	}
	for r := range rounds {
		winner := -1
		for id := range procs {
			outcome, body, _ := strings.Cut(results[id][r], " ")
			if outcome == "win" {
				if winner >= 0 {
					t.Errorf("round %d: helpers %d and %d both won", r, winner, id)
				}
				winner = id
			}
			if want := fmt.Sprintf("round-%d-by-", r); !strings.HasPrefix(body, want) {
				t.Errorf("round %d: helper %d read %q after the round", r, id, body)
			}
		}
		if winner < 0 {
			t.Errorf("round %d: nobody won", r)
			continue
		}
		for id := range procs {
			_, body, _ := strings.Cut(results[id][r], " ")
			if want := fmt.Sprintf("round-%d-by-%d", r, winner); body != want {
				t.Errorf("round %d: helper %d read %q, want the winner's %q", r, id, body, want)
			}
		}
	}
}

// TestHelperProcess is one process of TestMultiProcess; it does nothing
// unless started by it.
func TestHelperProcess(t *testing.T) {
	idStr := os.Getenv(envHelperID)
	if idStr == "" {
		t.Skip("helper process of TestMultiProcess")
	}
	id, _ := strconv.Atoi(idStr)
	dir, syncDir := os.Getenv(envHelperDir), os.Getenv(envHelperSync)
	ctx := context.Background()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// barrier waits until every process has reached phase of round r.
	barrier := func(phase string, r int) {
		if err := os.WriteFile(filepath.Join(syncDir, fmt.Sprintf("%s-%d-%d", phase, r, id)), nil, 0o666); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for other := range procs {
			for {
				if _, err := os.Stat(filepath.Join(syncDir, fmt.Sprintf("%s-%d-%d", phase, r, other))); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("barrier %s %d: timed out waiting for helper %d", phase, r, other)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	res, err := os.Create(filepath.Join(syncDir, fmt.Sprintf("result-%d", id)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	const key = "race/k"
	for r := range rounds {
		create := r%2 == 0
		if create && id == 0 {
			if err := st.Delete(ctx, key, object.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		barrier("ready", r) // the key is absent for a create round
		var opts object.PutOptions
		if create {
			opts.IfNoneMatch = "*"
		} else {
			h, err := st.Head(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			opts.IfMatch = h.Version
		}
		barrier("go", r) // both have read the version; nobody has written
		_, err := st.Put(ctx, key, fmt.Appendf(nil, "round-%d-by-%d", r, id), opts)
		outcome := "win"
		if err != nil {
			if !errors.Is(err, object.ErrPrecondition) {
				t.Fatalf("round %d: %v", r, err)
			}
			outcome = "lose"
		}
		barrier("done", r)
		obj, err := st.Get(ctx, key, object.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(res, "%s %s\n", outcome, obj.Body)
		barrier("read", r) // both have read the result before the next round deletes it
	}
}
