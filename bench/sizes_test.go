package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civisens/civisens/internal/testinfra"
)

// binarySizes builds the three programs for every target as `make build`
// and `make cross` do (-trimpath, -s -w) and records their sizes.
func binarySizes(t *testing.T, cfg config, rec *recorder) {
	targets := [][3]string{{"linux", "amd64", ""}, {"linux", "arm", "6"}, {"linux", "arm", "7"}, {"linux", "arm64", ""}}
	if !cfg.Cross {
		targets = targets[:1]
	}
	programs := []string{"firmware-bridge", "gateway", "registry"}
	for _, tg := range targets {
		dir := t.TempDir()
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", dir+"/", "./firmware-bridge", "./gateway", "./registry")
		cmd.Dir = testinfra.RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+tg[0], "GOARCH="+tg[1], "GOARM="+tg[2])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s/%s%s: %v\n%s", tg[0], tg[1], tg[2], err, out)
		}
		name := tg[1]
		if tg[2] != "" {
			name += "v" + tg[2]
		}
		for _, p := range programs {
			fi, err := os.Stat(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			rec.add("size."+strings.ReplaceAll(p, "-", "_")+"."+name, "binary size, "+p+" linux/"+name, "MiB", float64(fi.Size())/(1<<20))
		}
	}
}
