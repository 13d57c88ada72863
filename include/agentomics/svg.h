/* svg.h — a small SVG plot writer for the HTML report (report.h): line and
 * scatter plots on linear or log axes, grouped bar charts and heat maps,
 * written as inline <svg> elements that need no script, font file or
 * network.
 *
 * Every plot is one <svg class="ao-plot" data-marks="N"> element, where N
 * counts the data marks drawn (line segments' paths, points, bars,
 * cells): 0 means the plot had nothing to draw and says "no data" in its
 * frame instead. Points whose x or y is not finite, or not > 0 on a log
 * axis, are skipped and break a line into separate pieces. Text is
 * escaped for XML. When every x value is an integer (iterations, epochs),
 * fractional x ticks are left out. Functions return AO_OK, or AO_EIO when the stream
 * reports a write error.
 */
#ifndef AGENTOMICS_SVG_H
#define AGENTOMICS_SVG_H

#include <stddef.h>
#include <stdio.h>
#include "agentomics/error.h"

enum ao_svg_style {
    AO_SVG_LINE = 0,          /* a polyline */
    AO_SVG_POINTS = 1,        /* markers only */
    AO_SVG_LINE_POINTS = 2    /* both */
};

typedef struct ao_svg_axis {
    const char *label;
    int log;                  /* 1: log10 scale (values <= 0 are skipped) */
    double lo, hi;            /* the range; NAN: from the data */
} ao_svg_axis;

typedef struct ao_svg_series {
    const char *name;         /* legend text; NULL: not in the legend */
    const double *x, *y;      /* n points */
    size_t n;
    int style;                /* enum ao_svg_style */
    long mark;                /* index of a point drawn large and ringed (the chosen one); -1: none */
    int dashed;               /* a reference line (the diagonal, chance) */
} ao_svg_series;

typedef struct ao_svg_plot {
    const char *title;
    int width, height;        /* pixels; <= 0: 480 x 320 */
    ao_svg_axis x, y;
    const ao_svg_series *series;
    int n_series;
} ao_svg_plot;

/* A line or scatter plot. */
int ao_svg_xy(FILE *fp, const ao_svg_plot *p) AO_WUR;

/* A grouped bar chart: n_groups bars per category; values is n_groups x
 * n_cats, row-major. Non-finite values draw no bar. */
int ao_svg_bars(FILE *fp, const char *title, const char *ylabel, const char *const *cats, int n_cats,
                const char *const *groups, const double *values, int n_groups, int width, int height) AO_WUR;

/* A heat map of an nr x nc matrix (row-major), each cell shaded by its
 * share of its row's total and labelled with its value (an integer when
 * integral). Rows are the y axis (ylabel), columns the x axis. */
int ao_svg_heatmap(FILE *fp, const char *title, const char *xlabel, const char *ylabel, const char *const *rows,
                   const char *const *cols, const double *v, int nr, int nc, int width, int height) AO_WUR;

/* The tick positions a plot draws on [lo, hi]: 1-2-5 steps on a linear
 * axis, powers of ten on a log axis (with 2 and 5 between them when the
 * range spans less than three decades). Returns the count (<= max); 0
 * when lo or hi is not finite, hi < lo, or (log) lo <= 0. */
int ao_svg_ticks(double lo, double hi, int log, double *ticks, int max);

/* Writes s with & < > " ' escaped. */
void ao_svg_escape(FILE *fp, const char *s);

#endif
