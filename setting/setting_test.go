package setting

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrors(t *testing.T) {
	err := fmt.Errorf("convert: %w", Errorf("calib_images", 100, "the set holds only %d images", 20))
	e, ok := As(err)
	if !ok || e.Key != "calib_images" || e.Value != "100" || e.Error() != "calib_images 100: the set holds only 20 images" || !IsUser(err) {
		t.Fatalf("%v: %+v", err, e)
	}
	if got := Errorf("features", nil, "required").Error(); got != "features: required" {
		t.Errorf("no value: %q", got)
	}
	plain := errors.New("epochs 0 out of range")
	checked := Check(plain)
	if !IsUser(checked) || !errors.Is(checked, plain) || checked.Error() != plain.Error() {
		t.Errorf("Check(%v) = %v", plain, checked)
	}
	if Check(nil) != nil || Check(e) != error(e) || IsUser(plain) {
		t.Error("Check keeps nil and *Error, IsUser refuses a plain error")
	}
}
