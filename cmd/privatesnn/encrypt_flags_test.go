package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/vgg"
)

// The inversion defences' flags and configuration keys give the same
// settings, resolved alike, and are off by default.
func TestSameJobEncryptDefenses(t *testing.T) {
	model := vgg.Config{ConvDropout: 0.1, FCDropout: 0.5}
	for args, text := range map[string]string{
		"--label-smoothing -0.2":                                                  "[encrypt]\nlabel_smoothing = -0.2\n",
		"--trapdoor-rate 0.1 --trapdoor-seed 9":                                   "[encrypt]\ntrapdoor_rate = 0.1\ntrapdoor_seed = 9\n",
		"--trapdoor-rate 0.1 --trapdoor-blend 0.5":                                "[encrypt]\ntrapdoor_rate = 0.1\ntrapdoor_blend = 0.5\n",
		"--erase-rate 0.5":                                                        "[encrypt]\nerase_rate = 0.5\n",
		"--erase-rate 0.5 --erase-area 0.05,0.2":                                  "[encrypt]\nerase_rate = 0.5\nerase_area = [0.05, 0.2]\n",
		"--label-smoothing 0.1 --trapdoor-rate 1 --erase-rate 1 --erase-area 1,1": "[encrypt]\nlabel_smoothing = 0.1\ntrapdoor_rate = 1.0\nerase_rate = 1.0\nerase_area = [1.0, 1.0]\n",
	} {
		cli := stage.DefaultEncryptSettings()
		flags(t, func(fs *flag.FlagSet, b *bounds) { encryptFlags(fs, b, &cli) }, splitArgs(args)...)
		cfg := config(t, text).Encrypt.EncryptSettings
		same(t, "encrypt "+args, cli, cfg)
		o1, o2 := cli.Options.Resolve(model, norm), cfg.Options.Resolve(model, norm)
		same(t, "encrypt options "+args, o1, o2)
		if err := o1.Validate(); err != nil {
			t.Errorf("encrypt %s: %v", args, err)
		}
		if o1.Defenses() == "" {
			t.Errorf("encrypt %s: no defence on", args)
		}
	}
	def := stage.DefaultEncryptSettings()
	flags(t, func(fs *flag.FlagSet, b *bounds) { encryptFlags(fs, b, &def) })
	if d := def.Options.Defenses(); d != "" || def.Options.EraseArea != ([2]float64{}) {
		t.Errorf("defaults: defences %q, erase area %v; want none", d, def.Options.EraseArea)
	}
}

func TestEncryptDefenseFlagsRejected(t *testing.T) {
	for _, args := range []string{
		"--label-smoothing -1.5", "--label-smoothing 1", "--trapdoor-rate 1.1", "--trapdoor-rate -0.1",
		"--trapdoor-blend 2", "--erase-rate 1.5", "--erase-area 0.4,0.1", "--erase-area 0,0.3", "--erase-area 0.2,1.5",
		"--erase-area 0.2", "--erase-area a,b",
	} {
		s := stage.DefaultEncryptSettings()
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		var b bounds
		encryptFlags(fs, &b, &s)
		err := fs.Parse(splitArgs(args))
		if err == nil {
			err = b.check()
		}
		if err == nil {
			t.Errorf("%s: accepted", args)
		} else if name := strings.Fields(args)[0]; !strings.Contains(err.Error(), name[2:]) {
			t.Errorf("%s: %v does not name the flag", args, err)
		}
	}
	var a [2]float64
	f := areaFlag{&a}
	if f.String() != "" {
		t.Errorf("zero area shows as %q", f.String())
	}
	if err := f.Set("0.1, 0.4"); err != nil || a != [2]float64{encrypt.DefaultEraseMin, encrypt.DefaultEraseMax} || f.String() != "0.1,0.4" {
		t.Errorf("Set: %v, %v, %q", err, a, f.String())
	}
}
