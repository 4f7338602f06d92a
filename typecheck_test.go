package dagr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// typecheckProgram is the program that each case of TestTypedGraphsTypeCheck
// puts its body into.
const typecheckProgram = `package p

import (
	"context"
	"strconv"

	"github.com/dagr/dagr"
)

func square(x int) int                            { return x * x }
func itoa(x int) string                           { return strconv.Itoa(x) }
func repeat(s string, n int) string               { return s }
func parse(_ context.Context, s string) (int, error) { return strconv.Atoi(s) }
func sum(xs ...int) int                           { return len(xs) }
func sumSlice(xs []int) int                       { return len(xs) }

type fake struct{}

func (fake) argOf(int) {}

func _(ctx context.Context) {
%s
}
`

// TestTypedGraphsTypeCheck type-checks small programs against the dagr
// package as compiled: a typed graph whose types fit compiles, and one
// with a task or a value of the wrong type, or the wrong number of
// arguments, does not, with an error that names the types that do not
// match.
func TestTypedGraphsTypeCheck(t *testing.T) {
	imp := exportImporter(t, "github.com/dagr/dagr", "context", "strconv")
	tests := []struct {
		name string
		body string
		want []string // in one error message; none: the program compiles
	}{
		{"fits", `
	n := dagr.Spawn1Ctx(ctx, parse, dagr.Value("12"))
	sq := dagr.Spawn1(ctx, square, n)
	s := dagr.Spawn2(ctx, repeat, dagr.Spawn1(ctx, itoa, sq), n)
	total := dagr.Gather(ctx, sum, []dagr.TaskOf[int]{n, sq})
	var str string
	var i int
	str, _ = s.Fetch(ctx)
	i, _ = total.Fetch(ctx)
	_, _ = str, i
	_ = dagr.Spawn(ctx, square, sq.Task)
	_ = dagr.TaskOf[int]{Task: dagr.Spawn(ctx, square, 2)}`, nil},
		{"a task of string for an int", `
	s := dagr.Spawn1(ctx, itoa, dagr.Value(1))
	dagr.Spawn1(ctx, square, s)`, []string{"TaskOf[string]", "Arg[int]"}},
		{"a value of string for an int", `
	dagr.Spawn1(ctx, square, dagr.Value("3"))`, []string{"Arg[string]", "Arg[int]"}},
		{"the second argument of the wrong type", `
	dagr.Spawn2(ctx, repeat, dagr.Value("x"), dagr.Value("2"))`, []string{"Arg[string]", "Arg[int]"}},
		{"a plain value without Value", `
	dagr.Spawn1(ctx, square, 3)`, []string{"Arg[int]", "missing method argOf"}},
		{"an untyped task", `
	dagr.Spawn1(ctx, square, dagr.Spawn(ctx, square, 1))`, []string{"*dagr.Task", "Arg[int]"}},
		{"an Arg of the user's", `
	dagr.Spawn1(ctx, square, fake{})`, []string{"fake", "Arg[int]"}},
		{"too few arguments", `
	dagr.Spawn2(ctx, repeat, dagr.Value("x"))`, []string{"not enough arguments", "Spawn2"}},
		{"too many arguments", `
	dagr.Spawn1(ctx, square, dagr.Value(1), dagr.Value(2))`, []string{"Arg[int]", "dagr.Options"}},
		{"f of another arity", `
	dagr.Spawn1(ctx, repeat, dagr.Value("x"))`, []string{"func(s string, n int) string", "func(A) R"}},
		{"a plain f for the full form", `
	dagr.Spawn1Ctx(ctx, square, dagr.Value(1))`, []string{"func(x int) int", "func(context.Context, A) (R, error)"}},
		{"a full f for the plain form", `
	dagr.Spawn1(ctx, parse, dagr.Value("1"))`, []string{"func(_ context.Context, s string) (int, error)", "func(A) R"}},
		{"the result fetched as another type", `
	var s string
	s, _ = dagr.Spawn1(ctx, square, dagr.Value(1)).Fetch(ctx)
	_ = s`, []string{"int", "string"}},
		{"the task of another result type", `
	var t dagr.TaskOf[string] = dagr.Spawn1(ctx, square, dagr.Value(1))
	_ = t`, []string{"TaskOf[int]", "TaskOf[string]"}},
		{"Gather of tasks of another type", `
	dagr.Gather(ctx, sum, []dagr.TaskOf[string]{})`, []string{"[]dagr.TaskOf[string]", "TaskOf[int]"}},
		{"Gather of a function of a slice", `
	dagr.Gather(ctx, sumSlice, []dagr.TaskOf[int]{})`, []string{"func(xs []int) int", "func(...A) R"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := typecheck(t, imp, fmt.Sprintf(typecheckProgram, tt.body))
			if tt.want == nil {
				if len(errs) > 0 {
					t.Fatalf("the program does not compile: %v", errors.Join(errs...))
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("the program compiles; want an error mentioning %q", tt.want)
			}
			for _, err := range errs {
				if containsAll(err.Error(), tt.want) {
					t.Logf("rejected: %v", err)
					return
				}
			}
			t.Fatalf("no error mentions all of %q: %v", tt.want, errors.Join(errs...))
		})
	}
}

// typecheck type-checks src, a package of one file, and returns its errors.
func typecheck(t *testing.T, imp types.Importer, src string) []error {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatalf("the test's program does not parse: %v", err)
	}
	var errs []error
	conf := types.Config{Importer: imp, Error: func(err error) { errs = append(errs, err) }}
	_, _ = conf.Check("p", fset, []*ast.File{file}, nil)
	return errs
}

// exportImporter returns an importer of the compiled packages that pkgs
// need (their export data, which go list builds or finds in the build
// cache): the packages as the compiler sees them, without type-checking
// dagr's dependencies from source.
func exportImporter(t *testing.T, pkgs ...string) types.Importer {
	t.Helper()
	// go test puts $GOROOT/bin first in the PATH of the tests it runs.
	cmd := exec.Command("go", append([]string{"list", "-export", "-deps", "-json=ImportPath,Export"}, pkgs...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.String())
	}
	exports := make(map[string]string)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list -export: %v", err)
		}
		exports[p.ImportPath] = p.Export
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
