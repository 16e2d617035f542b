package modelfile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/vgg"
)

// metadataFeatures returns the features list f's metadata records under
// FeaturesKey, or ErrNoFeatures.
func metadataFeatures(f *safetensors.File) ([]vgg.Item, error) {
	s, ok := f.Metadata[FeaturesKey]
	if !ok {
		return nil, ErrNoFeatures
	}
	items, err := vgg.ParseFeatures(s)
	if err != nil {
		return nil, fmt.Errorf("%w: metadata %s %q: %w", ErrStateDict, FeaturesKey, s, err)
	}
	return items, nil
}

// poolCheck checks where features puts its pools against what f records
// and returns the card's words for how it was checked.
//
// A file's features metadata is compared as a whole. Otherwise the
// convolutions' Sequential indices speak when the exporter's Sequential
// holds the same modules after every convolution and one more (or a
// fixed number more) after each pool, as torchvision's VGG does (conv,
// ReLU, pool): the gaps between consecutive convolutions then take two
// values, the larger where a pool sits. In the reference's layout a pool
// takes the place of the dropout after a conv's ReLU, so every gap is 3
// wherever the pools sit, and the positions cannot be checked; the card
// says so. Only one placement exists for no pools or a pool after every
// convolution.
func poolCheck(f *safetensors.File, convs []sdLayer, features []vgg.Item) (string, error) {
	if s, ok := f.Metadata[FeaturesKey]; ok {
		meta, err := metadataFeatures(f)
		if err != nil {
			return "", err
		}
		if !slices.Equal(meta, features) {
			return "", fmt.Errorf("%w: the file's metadata records the features %s, the features list says %s", ErrStateDict, s, vgg.FormatFeatures(features))
		}
		return fmt.Sprintf("checked: the file's %s metadata records them", FeaturesKey), nil
	}
	inner, pools := innerPools(features)
	if pools == 0 || pools == len(convs) {
		return "fixed by their number, which the classifier's input size checks", nil
	}
	idx := make([]string, len(convs))
	for i, c := range convs {
		idx[i] = strconv.Itoa(c.index)
	}
	where := "the convolutions' Sequential indices (features." + strings.Join(idx, ", ") + ")"
	gaps := map[int]bool{}
	lo, hi := convs[1].index-convs[0].index, 0
	for i := 1; i < len(convs); i++ {
		g := convs[i].index - convs[i-1].index
		gaps[g] = true
		lo, hi = min(lo, g), max(hi, g)
	}
	switch len(gaps) {
	case 1:
		return fmt.Sprintf("not checked: %s are evenly spaced, as in the reference's layout, where a pool takes a dropout's place wherever it sits; "+
			"only their number is checked (by the classifier's input size)%s", where, recordHint), nil
	case 2:
	default:
		return fmt.Sprintf("not checked: %s follow no layout with the same modules after every convolution; "+
			"only their number is checked (by the classifier's input size)%s", where, recordHint), nil
	}
	implied := make([]bool, len(inner))
	for i := range implied {
		implied[i] = convs[i+1].index-convs[i].index == hi
	}
	if !slices.Equal(implied, inner) {
		return "", fmt.Errorf("%w: %s put a pool after %s (one module more there), the features list %s after %s; %s would fit them",
			ErrStateDict, where, afterConvs(implied), vgg.FormatFeatures(features), afterConvs(inner), vgg.FormatFeatures(withPools(features, implied)))
	}
	return "checked: " + where + " place them", nil
}

// recordHint ends the words of an unchecked placement.
const recordHint = "; an exporter that records the list in the file's \"" + FeaturesKey + "\" metadata has it checked"

// innerPools returns, for each pair of consecutive convolutions in
// features, whether a pool sits between them, and the number of pools.
func innerPools(features []vgg.Item) (inner []bool, pools int) {
	seen, pending := false, false
	for _, it := range features {
		if it == vgg.Pool {
			pools++
			pending = true
			continue
		}
		if seen {
			inner = append(inner, pending)
		}
		seen, pending = true, false
	}
	return inner, pools
}

// withPools returns features' convolutions with a pool after convolution
// i+1 where pools[i], and a final pool when features ends with one.
func withPools(features []vgg.Item, pools []bool) []vgg.Item {
	var out []vgg.Item
	k := 0
	for _, it := range features {
		if it == vgg.Pool {
			continue
		}
		out = append(out, it)
		if k < len(pools) && pools[k] {
			out = append(out, vgg.Pool)
		}
		k++
	}
	if features[len(features)-1] == vgg.Pool {
		out = append(out, vgg.Pool)
	}
	return out
}

// afterConvs words the convolutions followed by a pool inside the
// network: "convolution 2", "convolutions 1 and 3", "no convolution but
// the last".
func afterConvs(pools []bool) string {
	var n []string
	for i, p := range pools {
		if p {
			n = append(n, strconv.Itoa(i+1))
		}
	}
	switch len(n) {
	case 0:
		return "no convolution but the last"
	case 1:
		return "convolution " + n[0]
	}
	return "convolutions " + strings.Join(n[:len(n)-1], ", ") + " and " + n[len(n)-1]
}
