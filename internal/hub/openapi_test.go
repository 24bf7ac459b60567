package hub_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// openAPIFile is the hub's API description, relative to this package.
const openAPIFile = "../../build/openapi.yaml"

// TestOpenAPICoversEveryRoute fails when the hub registers a route (a
// HandleFunc or Handle call on its mux, anywhere in the package) that
// build/openapi.yaml does not describe, or when the file describes an
// operation the hub does not serve.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	routes := registeredRoutes(t)
	if len(routes) < 10 {
		t.Fatalf("found only %d registered routes (%v): the source scan is broken", len(routes), routes)
	}
	ops := openAPIOperations(t, openAPIFile)
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			t.Errorf("route %q is served but missing from %s", r, openAPIFile)
		}
	}
	for _, op := range ops {
		if !slices.Contains(routes, op) {
			t.Errorf("%s describes %q, which the hub does not serve", openAPIFile, op)
		}
	}
}

// registeredRoutes returns "METHOD PATH" of every mux registration in the
// package's non-test sources, resolving string constants of this package
// and of package wire.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	consts := map[string]string{}
	var files []*ast.File
	for _, dir := range []struct{ path, prefix string }{{".", ""}, {"wire", "wire."}} {
		names, err := filepath.Glob(filepath.Join(dir.path, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			collectStringConsts(f, dir.prefix, consts)
			if dir.prefix == "" {
				files = append(files, f)
			}
		}
	}
	var routes []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			pattern, ok := evalString(call.Args[0], consts)
			if !ok {
				t.Errorf("%s: cannot resolve the route pattern: extend registeredRoutes", fset.Position(call.Pos()))
				return true
			}
			method, path, found := strings.Cut(pattern, " ")
			if !found || method == "" || !strings.HasPrefix(path, "/") {
				t.Errorf("%s: route %q has no method: every route names one", fset.Position(call.Pos()), pattern)
				return true
			}
			routes = append(routes, pattern)
			return true
		})
	}
	slices.Sort(routes)
	return routes
}

// collectStringConsts adds the package's untyped string constants given
// by literals or by concatenations of them.
func collectStringConsts(f *ast.File, prefix string, consts map[string]string) {
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					if v, ok := evalString(vs.Values[i], consts); ok {
						consts[prefix+name.Name] = v
					}
				}
			}
		}
	}
}

func evalString(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[e.Name]
		return s, ok
	case *ast.SelectorExpr:
		if pkg, ok := e.X.(*ast.Ident); ok {
			s, ok := consts[pkg.Name+"."+e.Sel.Name]
			return s, ok
		}
	case *ast.ParenExpr:
		return evalString(e.X, consts)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			a, ok1 := evalString(e.X, consts)
			b, ok2 := evalString(e.Y, consts)
			return a + b, ok1 && ok2
		}
	}
	return "", false
}

// openAPIOperations returns "METHOD PATH" of every operation under the
// file's top-level paths: key (a line-based reading of its layout: paths
// indented by two spaces, operations by four).
func openAPIOperations(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	methods := []string{"get", "put", "post", "delete", "patch", "head", "options"}
	var ops []string
	inPaths, path := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " ")
		switch {
		case line == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case !strings.HasPrefix(line, " "):
			inPaths, path = line == "paths:", ""
		case !inPaths:
		case strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case path != "" && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     "):
			key, _, _ := strings.Cut(strings.TrimSpace(line), ":")
			if slices.Contains(methods, key) {
				ops = append(ops, strings.ToUpper(key)+" "+path)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ops) == 0 {
		t.Fatalf("%s: no operations found under paths:", name)
	}
	slices.Sort(ops)
	return ops
}
