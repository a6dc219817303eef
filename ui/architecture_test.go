package ui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchitecture keeps the console's shape (docs/ARCHITECTURE.md, issue
// 29): App is a thin router in app.go (under 300 lines, at most 20
// methods, all there), no file of ui/ is over 450 lines, and no flow or
// room names the router: they reach the rest through messages and the
// stage.
func TestArchitecture(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	methods := 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(src), "\n"); n > 450 {
			t.Errorf("%s has %d lines: split it by subject (at most 450)", name, n)
		} else if name == "app.go" && n >= 300 {
			t.Errorf("app.go has %d lines: the router stays under 300; move the work into a flow", n)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil && receiverIs(fn.Recv, "App") {
				methods++
				if name != "app.go" {
					t.Errorf("%s: method App.%s: App's methods are all in app.go", name, fn.Name.Name)
				}
			}
		}
		if name == "app.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && id.Name == "App" {
				t.Errorf("%s: names the router (App) at %s: a flow talks through messages and the stage", name, fset.Position(id.Pos()))
			}
			return true
		})
	}
	if methods > 20 {
		t.Errorf("App has %d methods: at most 20", methods)
	}
}

func receiverIs(recv *ast.FieldList, name string) bool {
	if len(recv.List) != 1 {
		return false
	}
	x := recv.List[0].Type
	if s, ok := x.(*ast.StarExpr); ok {
		x = s.X
	}
	id, ok := x.(*ast.Ident)
	return ok && id.Name == name
}
