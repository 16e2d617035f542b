package report

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkScript is the report checker run by hand (scripts/check_report.py).
const checkScript = "../scripts/check_report.py"

// TestCheckScriptPython: the checker names Debian's /usr/bin/python3, whose
// python3-pil and python3-numpy it needs, not whatever python3 comes first
// on PATH.
func TestCheckScriptPython(t *testing.T) {
	f, err := os.Open(checkScript)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first, _ := bufio.NewReader(f).ReadString('\n')
	if first != "#!/usr/bin/python3\n" {
		t.Errorf("%s starts with %q, want #!/usr/bin/python3", checkScript, first)
	}
}

// fakeChromium draws a screenshot as headless Chromium would: the
// --screenshot file at the --window-size, a coloured band on white.
const fakeChromium = `#!/usr/bin/python3
import sys
from PIL import Image
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
w, h = (int(v) for v in args["window-size"].split(","))
img = Image.new("RGB", (w, h), "white")
for y in range(200):
    for x in range(0, w, 7):
        img.putpixel((x, y), (x % 256, y, 128))
img.save(args["screenshot"])
`

// TestCheckScriptLeavesNothing: without OUT.png, the checker keeps no
// screenshot: the temporary directory is as empty afterwards as before. It
// runs where /usr/bin/python3 has Pillow and numpy (python3-pil,
// python3-numpy), with a stand-in for Chromium.
func TestCheckScriptLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a screenshot of 1400×8000 pixels")
	}
	if exec.Command("/usr/bin/python3", "-c", "import PIL, numpy").Run() != nil {
		t.Skip("/usr/bin/python3 lacks Pillow or numpy (apt-get install python3-pil python3-numpy)")
	}
	dir, bin, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "chromium"), []byte(fakeChromium), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, sampleData(t)); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(checkScript)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, filepath.Join(dir, HTMLFile))
	cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin", "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 failed checks") {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the checker left %d files in the temporary directory, e.g. %s", len(left), left[0].Name())
	}
}
