// Package report renders the results of a PrivateSNN pipeline run as a
// Markdown file, a self-contained HTML file and the figures both show.
//
// # Overview
//
// The caller collects the run's results in a Data value and calls Write,
// which writes, into one directory,
//
//   - report.md: headings, Markdown tables and relative links to the figures;
//   - report.html: the same content with inline CSS, every image embedded as
//     a base64 data URI, so the file needs no other file, network access or
//     JavaScript;
//   - figures/*.png: the plots (accuracy against timestep, accuracy against
//     synthetic images per class, spike rate per layer for every model, the
//     privacy–accuracy frontier) and copies of the image grids the caller
//     names.
//
// The sections follow the paper's tables and figures: Table 2 (accuracy),
// Table 3 (class-encryption training ablation), Table 4 (class leakage,
// with every evaluator's top-1 and its 95 % interval, each model's worst
// case and the paired differences between models), the privacy–accuracy
// frontier of the inversion defences, Table 5 (energy), per-layer spike
// rates and energy, Fig. 2 (synthetic images), Fig. 5a/5b (accuracy against
// timestep and against images per class) and Fig. 6 (attack images),
// preceded by a Run section with the command, the software, the seeds and
// the stages. A part of Data that is empty produces no section; a closing
// list says which parts were not in the run.
//
// A swept configuration's summary (Data.Sweep) opens with a Sweep section:
// the axes and their values, one figure and table per curve (means over
// the seed axes with their 95 % intervals as vertical bars) and every
// point with its metrics and a link to its own report. Such a summary
// lists no parts as not run.
//
// Every number in the output comes from the Data value; the package computes
// nothing but unit choices and formatting.
//
// # Units
//
// Accuracies, hit rates, their intervals and spike rates are fractions
// (0.902 is printed as "90.2 %"); PairedDifference.Diff and its interval
// are differences of fractions, printed in percentage points;
// AblationRow.Delta is in percentage points; energies are joules
// per image, printed in µJ or mJ (one unit per table); MAC and AC counts are
// printed in millions or billions (one unit per table).
//
// # Files
//
// Every file is written atomically (package internal/atomicfile). Files in
// the output directory that Write does not produce are left alone.
package report
