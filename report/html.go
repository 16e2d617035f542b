package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
)

// dataURI returns a PNG as a data URI. The bytes come from the plots this
// package draws or from files checked to be PNGs, so the URI is marked safe
// for html/template's src attributes.
func dataURI(b []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{"datauri": dataURI}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ccc; padding-bottom: .3em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .95em; }
th, td { border: 1px solid #ccc; padding: .3em .7em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr:nth-child(even) td { background: #fafafa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figure img.pixels { image-rendering: pixelated; }
figcaption { color: #555; font-size: .9em; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: .7em; overflow-x: auto; white-space: pre-wrap; }
details summary { cursor: pointer; }
nav ul { columns: 2; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<nav><ul>
{{- range .Sections}}
<li><a href="#{{.ID}}">{{.Title}}</a></li>
{{- end}}
{{- if .NotRun}}
<li><a href="#not-run">Not in this run</a></li>
{{- end}}
</ul></nav>
{{- range .Sections}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{- range .Blocks}}
{{- if .Table}}{{$t := .Table}}
<table>
<thead><tr>{{range $i, $h := .Table.Header}}<th{{if index $t.Right $i}} class="num"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>
{{- range $r, $row := .Table.Rows}}
<tr>{{range $i, $c := $row}}<td{{if index $t.Right $i}} class="num"{{end}}>{{with $t.Link $r $i}}<a href="{{.}}">{{$c}}</a>{{else}}{{$c}}{{end}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- else if .Figure}}
<figure>
<img src="{{datauri .Figure.PNG}}" alt="{{.Figure.Caption}}"{{if .Figure.Width}} class="pixels" width="{{.Figure.Width}}"{{end}}>
<figcaption>{{.Figure.Caption}}</figcaption>
</figure>
{{- else if .Code}}
{{- if .Code.Collapsed}}
<details><summary>{{.Code.Summary}}</summary>
<pre>{{.Code.Text}}</pre>
</details>
{{- else}}
<pre>{{.Code.Text}}</pre>
{{- end}}
{{- else}}
<p>{{.Text}}</p>
{{- end}}
{{- end}}
</section>
{{- end}}
{{- if .NotRun}}
<section id="not-run">
<h2>Not in this run</h2>
<ul>
{{- range .NotRun}}
<li>{{.}}</li>
{{- end}}
</ul>
</section>
{{- end}}
</body>
</html>
`))

func writeHTML(b *bytes.Buffer, doc *document) error {
	if err := page.Execute(b, doc); err != nil {
		return fmt.Errorf("render %s: %w", HTMLFile, err)
	}
	return nil
}
