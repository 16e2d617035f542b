package report

import (
	"bytes"
	"fmt"
	"strings"
)

// mdSpecial holds the characters escaped with a backslash in Markdown text.
const mdSpecial = "\\`*_[]<>|"

// mdText escapes s for Markdown inline text and joins its lines.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", "")), " ") {
		if strings.ContainsRune(mdSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fence returns a code fence longer than any run of backticks in s.
func fence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

func writeMarkdown(b *bytes.Buffer, doc *document) {
	fmt.Fprintf(b, "# %s\n", mdText(doc.Title))
	for _, s := range doc.Sections {
		fmt.Fprintf(b, "\n## %s\n", mdText(s.Title))
		for _, bl := range s.Blocks {
			b.WriteByte('\n')
			switch {
			case bl.Table != nil:
				mdTable(b, bl.Table)
			case bl.Figure != nil:
				fmt.Fprintf(b, "![%s](%s)\n\n%s\n", mdText(bl.Figure.Caption), bl.Figure.File, mdText(bl.Figure.Caption))
			case bl.Code != nil:
				text := strings.TrimRight(bl.Code.Text, "\n")
				f := fence(text)
				if bl.Code.Collapsed {
					fmt.Fprintf(b, "%s:\n\n", mdText(capitalize(bl.Code.Summary)))
				}
				fmt.Fprintf(b, "%s\n%s\n%s\n", f, text, f)
			default:
				fmt.Fprintf(b, "%s\n", mdText(bl.Text))
			}
		}
	}
	if len(doc.NotRun) > 0 {
		b.WriteString("\n## Not in this run\n\n")
		for _, t := range doc.NotRun {
			fmt.Fprintf(b, "- %s\n", mdText(t))
		}
	}
}

func mdTable(b *bytes.Buffer, t *table) {
	cells := func(row []string, r int) {
		b.WriteByte('|')
		for i, c := range row {
			if href := t.Link(r, i); href != "" {
				fmt.Fprintf(b, " [%s](%s) |", mdText(c), href)
			} else {
				fmt.Fprintf(b, " %s |", mdText(c))
			}
		}
		b.WriteByte('\n')
	}
	cells(t.Header, -1)
	b.WriteByte('|')
	for _, r := range t.Right {
		if r {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteByte('\n')
	for r, row := range t.Rows {
		cells(row, r)
	}
}

// capitalize upper-cases the first letter of an ASCII phrase.
func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
