/* The report's charts (see svg_plot.h). Sizes are in CSS pixels at which the text is
 * 12-15 px: readable on a laptop at 100% and when a slide scales the SVG down to half.
 * Text widths are estimated (7 px per character at 12 px sans-serif) to decide when tick
 * and category labels must be thinned, rotated or shortened. */
#include "report/svg_plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Okabe & Ito (2008), "Color Universal Design": distinguishable under every common colour
 * vision deficiency; yellow last (weak on white). */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                      "#D55E00", "#56B4E9", "#000000", "#F0E442"};
enum { PALETTE = sizeof palette / sizeof palette[0], CHAR_PX = 7, MAX_TICKS = 64 };

const char *nni_plot_colour(int i)
{
    return palette[((i % PALETTE) + PALETTE) % PALETTE];
}

/* ---- axes ------------------------------------------------------------------------------ */

typedef struct axis {
    double lo, hi; /* data range after padding (log10 of it when log) */
    int log;
    double from, to; /* pixels */
    int n_ticks;
    double ticks[MAX_TICKS];
    char labels[MAX_TICKS][24];
    /* > 0: category names too wide to sit side by side are written slanted, taking this
     * many pixels below the frame */
    int slanted_room;
} axis;

static double axis_pos(const axis *a, double v)
{
    double t = a->log ? log10(v) : v;
    return a->from + (t - a->lo) / (a->hi - a->lo) * (a->to - a->from);
}

static void format_tick(char *out, size_t size, double v, double step)
{
    if (fabs(v) < step * 1e-6)
        v = 0;
    /* every label of an axis with the same number of decimals: 0.00085, 0.00090, 0.00095 */
    if (step >= 1000) { /* 1.5M, 800k: short enough to leave the axis title room */
        double unit = step >= 1e6 ? 1e6 : 1e3;
        double scaled = step / unit;
        int decimals = scaled >= 1 ? 0 : (int)ceil(-log10(scaled) - 1e-9);
        if (v == 0)
            snprintf(out, size, "0");
        else
            snprintf(out, size, "%.*f%s", decimals, v / unit, unit == 1e6 ? "M" : "k");
        return;
    }
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) >= 1e6 || decimals > 6)
        snprintf(out, size, "%.3g", v);
    else
        snprintf(out, size, "%.*f", decimals, v);
}

/* Round ticks over [lo, hi] (~target of them), and the range widened a little so that no
 * point sits on the frame. */
static void axis_fit(axis *a, double lo, double hi, int log_scale, int integer, int target)
{
    a->log = log_scale && lo > 0;
    if (a->log) {
        lo = log10(lo);
        hi = log10(hi);
    }
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        if (a->log)
            d = 0.5;
        lo -= d;
        hi += d;
    }
    double pad = (hi - lo) * 0.04;
    a->lo = lo - pad;
    a->hi = hi + pad;
    a->n_ticks = 0;
    if (a->log) {
        int decades = (int)ceil(a->hi) - (int)floor(a->lo);
        static const double steps_few[] = {1, 2, 5}, steps_one[] = {1};
        const double *mult = decades <= 3 ? steps_few : steps_one;
        int n_mult = decades <= 3 ? 3 : 1;
        int stride = decades > 10 ? (decades + 9) / 10 : 1;
        for (int k = (int)floor(a->lo); k <= (int)ceil(a->hi) && a->n_ticks < MAX_TICKS; k++) {
            if (k % stride)
                continue;
            for (int m = 0; m < n_mult && a->n_ticks < MAX_TICKS; m++) {
                double v = mult[m] * pow(10, k), t = log10(v);
                if (t < a->lo || t > a->hi)
                    continue;
                a->ticks[a->n_ticks] = v;
                snprintf(a->labels[a->n_ticks], sizeof a->labels[0], "%g", v);
                a->n_ticks++;
            }
        }
        return;
    }
    double raw = (a->hi - a->lo) / target, mag = pow(10, floor(log10(raw))), r = raw / mag;
    double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
    if (integer && step < 1)
        step = 1;
    for (double v = ceil(a->lo / step) * step; v <= a->hi + step * 1e-9 && a->n_ticks < MAX_TICKS;
         v += step) {
        a->ticks[a->n_ticks] = fabs(v) < step * 1e-9 ? 0 : v;
        format_tick(a->labels[a->n_ticks], sizeof a->labels[0], v, step);
        a->n_ticks++;
    }
}

/* ---- pieces of SVG --------------------------------------------------------------------- */

static void svg_open(nni_text *out, const char *id, int width, int height, const char *title)
{
    nni_text_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"");
    nni_text_escaped(out, id);
    nni_text_printf(out, "\" class=\"plot\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                    "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\" "
                    "role=\"img\">\n<title>", width, height, width, height);
    nni_text_escaped(out, title);
    nni_text_printf(out, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
                    "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
                    "font-weight=\"bold\">", width, height, width / 2);
    nni_text_escaped(out, title);
    nni_text_puts(out, "</text>\n");
}

/* label shortened to at most max characters (UTF-8 ellipsis at the end). */
static void put_short(nni_text *out, const char *label, int max)
{
    if ((int)strlen(label) <= max) {
        nni_text_escaped(out, label);
        return;
    }
    char cut[128];
    snprintf(cut, sizeof cut, "%.*s", max - 1 < 120 ? max - 1 : 120, label);
    nni_text_escaped(out, cut);
    nni_text_puts(out, "\xe2\x80\xa6");
}

static void put_text(nni_text *out, double x, double y, const char *anchor, double rotate,
                     const char *label, int max_chars)
{
    nni_text_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y, anchor);
    if (rotate != 0)
        nni_text_printf(out, " transform=\"rotate(%.0f %.1f %.1f)\"", rotate, x, y);
    nni_text_puts(out, ">");
    put_short(out, label, max_chars);
    nni_text_puts(out, "</text>\n");
}

/* Frame, grid lines, ticks and the axis titles of a chart's plotting area. */
static void draw_axes(nni_text *out, const axis *x, const axis *y, const char *x_title,
                      const char *y_title)
{
    double left = x->from, right = x->to, top = y->to, bottom = y->from;
    /* x labels: keep every k-th so that neighbours do not touch */
    int widest = 1;
    for (int i = 0; i < x->n_ticks; i++)
        if ((int)strlen(x->labels[i]) > widest)
            widest = (int)strlen(x->labels[i]);
    double room = x->n_ticks > 1 ? (right - left) / (x->n_ticks - 1) : right - left;
    int every = 1;
    if (x->slanted_room)
        widest = 0;
    while (every * room < widest * CHAR_PX + 8)
        every++;
    for (int i = 0; i < x->n_ticks; i++) {
        double px = axis_pos(x, x->ticks[i]);
        nni_text_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                        "stroke=\"#e4e4e4\"/>\n", px, top, px, bottom);
        if (x->slanted_room)
            put_text(out, px + 4, bottom + 14, "end", -35, x->labels[i], 23);
        else if (i % every == 0)
            put_text(out, px, bottom + 17, "middle", 0, x->labels[i], 12);
    }
    for (int i = 0; i < y->n_ticks; i++) {
        double py = axis_pos(y, y->ticks[i]);
        nni_text_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                        "stroke=\"#e4e4e4\"/>\n", left, py, right, py);
        put_text(out, left - 6, py + 4, "end", 0, y->labels[i], 9);
    }
    nni_text_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"none\" stroke=\"#555555\"/>\n", left, top, right - left, bottom - top);
    if (x_title)
        put_text(out, (left + right) / 2, bottom + 38 + x->slanted_room, "middle", 0, x_title,
                 80);
    if (y_title)
        put_text(out, 16, (top + bottom) / 2, "middle", -90, y_title, 48);
}

/* Left edge of the plotting area: the axis title, then the widest y tick label. */
static double y_label_room(const axis *y)
{
    int widest = 1;
    for (int i = 0; i < y->n_ticks; i++)
        if ((int)strlen(y->labels[i]) > widest)
            widest = (int)strlen(y->labels[i]);
    double room = 30 + widest * CHAR_PX + 8;
    return room < 64 ? 64 : room;
}

/* ---- line and scatter charts ------------------------------------------------------------ */

void nni_plot_lines(nni_text *out, const nni_plot *p, const char *id)
{
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double xv = p->series[s].x[i], yv = p->series[s].y[i];
            if (!isfinite(xv) || !isfinite(yv) || (p->log_x && xv <= 0) || (p->log_y && yv <= 0))
                continue;
            x_lo = fmin(x_lo, xv);
            x_hi = fmax(x_hi, xv);
            y_lo = fmin(y_lo, yv);
            y_hi = fmax(y_hi, yv);
        }
    for (int m = 0; m < p->n_marks; m++) {
        x_lo = fmin(x_lo, p->marks[m]);
        x_hi = fmax(x_hi, p->marks[m]);
    }
    int empty = !(x_lo <= x_hi);
    if (empty)
        x_lo = y_lo = 0, x_hi = y_hi = 1;
    int legend = p->n_series > 1;
    int height = 340, width = 560, below = 0;
    if (legend && 56 + 18 * p->n_series > height - 60)
        height = 116 + 18 * p->n_series;
    /* category names wider than their share of the axis are slanted: room below for them */
    int name_chars = 0;
    for (int i = 0; i < p->n_x_names && i < MAX_TICKS; i++)
        if ((int)strlen(p->x_names[i]) > name_chars)
            name_chars = (int)strlen(p->x_names[i]) < 23 ? (int)strlen(p->x_names[i]) : 23;
    int slanted = p->n_x_names > 0 && p->n_x_names * (name_chars * CHAR_PX + 8) > width - 200;
    if (slanted) {
        below = (int)(name_chars * CHAR_PX * 0.6) + 8;
        height += below;
    }
    svg_open(out, id, width, height, p->title);
    axis y = {.from = height - 58 - below, .to = 36};
    axis_fit(&y, y_lo, y_hi, p->log_y, 0, 5);
    axis x = {.from = y_label_room(&y), .to = width - (legend ? 176 : 24)};
    axis_fit(&x, x_lo, x_hi, p->log_x, p->x_integer || p->n_x_names, 6);
    if (p->n_x_names > 0) { /* one tick per category, named */
        if (!(x_lo <= 0 && x_hi >= p->n_x_names - 1))
            axis_fit(&x, 0, p->n_x_names - 1, 0, 1, 6);
        x.n_ticks = p->n_x_names < MAX_TICKS ? p->n_x_names : MAX_TICKS;
        for (int i = 0; i < x.n_ticks; i++) {
            x.ticks[i] = i;
            snprintf(x.labels[i], sizeof x.labels[0], "%s", p->x_names[i]);
        }
        x.slanted_room = slanted ? below : 0;
    }
    draw_axes(out, &x, &y, p->x_title, p->y_title);
    if (empty)
        put_text(out, (x.from + x.to) / 2, (y.from + y.to) / 2, "middle", 0, "no data recorded",
                 40);
    for (int m = 0; m < p->n_marks; m++) {
        double px = axis_pos(&x, p->marks[m]);
        nni_text_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                        "stroke=\"#777777\" stroke-dasharray=\"5 4\"/>\n", px, y.to, px, y.from);
    }
    if (p->n_marks && p->mark_label)
        put_text(out, axis_pos(&x, p->marks[0]) + 4, y.to + 14, "start", 0, p->mark_label, 30);
    for (int s = 0; s < p->n_series; s++) {
        const nni_plot_series *ser = &p->series[s];
        const char *colour = nni_plot_colour(ser->colour >= 0 ? ser->colour : s);
        int shown = 0;
        if (!ser->points_only) {
            nni_text_printf(out, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s d=\"",
                            colour, ser->dashed ? " stroke-dasharray=\"7 4\"" : "");
            int pen = 0;
            for (int i = 0; i < ser->n; i++) {
                double xv = ser->x[i], yv = ser->y[i];
                if (!isfinite(xv) || !isfinite(yv) || (x.log && xv <= 0) || (y.log && yv <= 0)) {
                    pen = 0;
                    continue;
                }
                nni_text_printf(out, "%s%.1f %.1f ", pen ? "L" : "M", axis_pos(&x, xv),
                                axis_pos(&y, yv));
                pen = 1;
                shown++;
            }
            nni_text_puts(out, "\"/>\n");
        }
        if (ser->points_only || ser->n <= 40) {
            nni_text_printf(out, "<g fill=\"%s\">", colour);
            for (int i = 0; i < ser->n; i++) {
                double xv = ser->x[i], yv = ser->y[i];
                if (!isfinite(xv) || !isfinite(yv) || (x.log && xv <= 0) || (y.log && yv <= 0))
                    continue;
                nni_text_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\"/>",
                                axis_pos(&x, xv), axis_pos(&y, yv),
                                ser->points_only ? "4" : "2.5");
            }
            nni_text_puts(out, "</g>\n");
        }
        if (legend) {
            double lx = x.to + 14, ly = 48 + 18 * s;
            nni_text_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                            "stroke=\"%s\" stroke-width=\"%s\"%s/>\n", lx, ly - 4, lx + 22, ly - 4,
                            colour, ser->points_only ? "6" : "2",
                            ser->dashed ? " stroke-dasharray=\"7 4\"" : "");
            put_text(out, lx + 28, ly, "start", 0, ser->label ? ser->label : "", 17);
        }
    }
    nni_text_puts(out, "</svg>\n");
}

/* ---- heatmap ---------------------------------------------------------------------------- */

/* White to the palette's blue. */
static void shade(char *out, size_t size, double t)
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    int r = (int)lround(255 + t * (0x00 - 255)), g = (int)lround(255 + t * (0x72 - 255)),
        b = (int)lround(255 + t * (0xB2 - 255));
    snprintf(out, size, "#%02x%02x%02x", r, g, b);
}

static int longest(const char *const *labels, int n, int cap)
{
    int w = 1;
    for (int i = 0; i < n; i++)
        if ((int)strlen(labels[i]) > w)
            w = (int)strlen(labels[i]);
    return w < cap ? w : cap;
}

void nni_plot_heatmap(nni_text *out, const nni_heatmap *h, const char *id)
{
    int n = h->rows > h->cols ? h->rows : h->cols;
    double cell = n > 0 ? 520.0 / n : 40;
    if (cell > 44)
        cell = 44;
    int row_chars = longest(h->row_labels, h->rows, 16);
    int col_chars = longest(h->col_labels, h->cols, 16);
    int rotate = col_chars * CHAR_PX + 4 > cell;
    double left = 40 + row_chars * CHAR_PX + 8, top = 40;
    double bottom_room = rotate ? col_chars * CHAR_PX * 0.72 + 50 : 56;
    int width = (int)(left + cell * h->cols + 30), height = (int)(top + cell * h->rows + bottom_room);
    if (width < 360)
        width = 360;
    svg_open(out, id, width, height, h->title);
    int font = cell >= 30 ? 12 : cell >= 20 ? 10 : 8;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; h->values && i < h->rows * h->cols; i++)
        if (isfinite(h->values[i])) {
            lo = fmin(lo, h->values[i]);
            hi = fmax(hi, h->values[i]);
        }
    for (int r = 0; r < h->rows; r++) {
        long long total = 0;
        for (int c = 0; !h->values && c < h->cols; c++)
            total += h->counts[r * h->cols + c];
        for (int c = 0; c < h->cols; c++) {
            double value = h->values ? h->values[r * h->cols + c] : NAN;
            long long v = h->values ? 0 : h->counts[r * h->cols + c];
            double share = h->values ? (isfinite(value) && hi > lo ? (value - lo) / (hi - lo) : 0)
                                     : total ? (double)v / (double)total : 0;
            char fill[16];
            shade(fill, sizeof fill, share);
            double cx = left + c * cell, cy = top + r * cell;
            nni_text_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                            "fill=\"%s\" stroke=\"#ffffff\" ", cx, cy, cell, cell, fill);
            if (h->values)
                nni_text_printf(out, "data-value=\"%.6g\"/>\n", value);
            else
                nni_text_printf(out, "data-count=\"%lld\"/>\n", v);
            if (cell >= 14 && (v || (h->values && isfinite(value)))) {
                char count[32];
                if (h->values)
                    snprintf(count, sizeof count, "%.3f", value);
                else
                    snprintf(count, sizeof count, "%lld", v);
                int fits = (int)strlen(count) * font * 0.62 < cell - 2;
                if (fits)
                    nni_text_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                                    "font-size=\"%d\" fill=\"%s\">%s</text>\n", cx + cell / 2,
                                    cy + cell / 2 + font * 0.35, font,
                                    share > 0.5 ? "#ffffff" : "#222222", count);
            }
        }
        put_text(out, left - 6, top + r * cell + cell / 2 + 4, "end", 0, h->row_labels[r], 16);
    }
    double label_y = top + h->rows * cell + 14;
    for (int c = 0; c < h->cols; c++) {
        double cx = left + c * cell + cell / 2;
        if (rotate)
            put_text(out, cx + 3, label_y - 4, "end", -45, h->col_labels[c], 16);
        else
            put_text(out, cx, label_y, "middle", 0, h->col_labels[c], 16);
    }
    nni_text_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"none\" stroke=\"#555555\"/>\n", left, top, cell * h->cols,
                    cell * h->rows);
    if (h->x_title)
        put_text(out, left + cell * h->cols / 2, height - 10, "middle", 0, h->x_title, 60);
    if (h->y_title)
        put_text(out, 16, top + cell * h->rows / 2, "middle", -90, h->y_title, 40);
    nni_text_puts(out, "</svg>\n");
}

/* ---- spread ------------------------------------------------------------------------------ */

void nni_plot_spread(nni_text *out, const nni_spread *s, const char *id)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int g = 0; g < s->groups; g++)
        for (int i = 0; i < s->counts[g]; i++)
            if (isfinite(s->values[g][i])) {
                lo = fmin(lo, s->values[g][i]);
                hi = fmax(hi, s->values[g][i]);
            }
    for (int g = 0; g < s->groups; g++) { /* the whiskers must fit too */
        double sum = 0, sq = 0;
        int n = 0;
        for (int i = 0; i < s->counts[g]; i++)
            if (isfinite(s->values[g][i])) {
                sum += s->values[g][i];
                n++;
            }
        for (int i = 0; n > 1 && i < s->counts[g]; i++)
            if (isfinite(s->values[g][i]))
                sq += (s->values[g][i] - sum / n) * (s->values[g][i] - sum / n);
        if (n > 1) {
            lo = fmin(lo, sum / n - sqrt(sq / (n - 1)));
            hi = fmax(hi, sum / n + sqrt(sq / (n - 1)));
        }
    }
    if (!(lo <= hi))
        lo = 0, hi = 1;
    int label_chars = longest(s->labels, s->groups, 28);
    double column = s->groups > 0 ? 520.0 / s->groups : 520;
    if (column > 110)
        column = 110;
    int rotate = label_chars * CHAR_PX + 6 > column;
    int bottom_room = rotate ? (int)(label_chars * CHAR_PX * 0.72) + 52 : 60;
    int width = (int)(110 + column * s->groups + 30), height = 300 + bottom_room;
    if (width < 420)
        width = 420;
    svg_open(out, id, width, height, s->title);
    axis y = {.from = height - bottom_room, .to = 36};
    axis_fit(&y, lo, hi, 0, 0, 5);
    double left = y_label_room(&y);
    axis x = {.from = left, .to = left + column * s->groups, .lo = 0, .hi = s->groups};
    draw_axes(out, &x, &y, NULL, s->y_title);
    for (int g = 0; g < s->groups; g++) {
        double centre = x.from + column * (g + 0.5), sum = 0, sq = 0;
        int n = 0;
        for (int i = 0; i < s->counts[g]; i++) {
            double v = s->values[g][i];
            if (!isfinite(v))
                continue;
            sum += v;
            n++;
            /* spread the dots sideways a little so that equal values stay visible */
            double dx = s->counts[g] > 1 ? (i / (double)(s->counts[g] - 1) - 0.5) * column * 0.4 : 0;
            nni_text_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" "
                            "fill-opacity=\"0.75\"/>\n", centre + dx, axis_pos(&y, v),
                            nni_plot_colour(1));
        }
        if (n) {
            double mean = sum / n;
            for (int i = 0; i < s->counts[g]; i++)
                if (isfinite(s->values[g][i]))
                    sq += (s->values[g][i] - mean) * (s->values[g][i] - mean);
            double sd = n > 1 ? sqrt(sq / (n - 1)) : 0, half = column * 0.3;
            nni_text_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                            "stroke=\"%s\" stroke-width=\"3\"/>\n", centre - half,
                            axis_pos(&y, mean), centre + half, axis_pos(&y, mean),
                            nni_plot_colour(0));
            if (n > 1)
                nni_text_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                                "stroke=\"%s\" stroke-width=\"1.5\"/>\n", centre,
                                axis_pos(&y, mean - sd), centre, axis_pos(&y, mean + sd),
                                nni_plot_colour(0));
        }
        double ly = y.from + 16;
        if (rotate)
            put_text(out, centre + 4, ly - 4, "end", -45, s->labels[g], 28);
        else
            put_text(out, centre, ly, "middle", 0, s->labels[g], 28);
    }
    if (s->x_title)
        put_text(out, (x.from + x.to) / 2, height - 10, "middle", 0, s->x_title, 80);
    nni_text_puts(out, "</svg>\n");
}

/* ---- parallel coordinates ------------------------------------------------------------------ */

/* A sequential colour for t in [0, 1] (light to dark, readable in grey too). */
static void sequential(char *out, size_t size, double t)
{
    static const int stops[][3] = {{0xfd, 0xe7, 0x25}, {0x5e, 0xc9, 0x62}, {0x21, 0x91, 0x8c},
                                   {0x3b, 0x52, 0x8b}, {0x44, 0x01, 0x54}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double f = 0.6 + t * 3.4; /* from past the palest yellow, which is weak on white */
    int i = f >= 4 ? 3 : (int)f;
    double u = f - i;
    int rgb[3];
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(stops[i][c] + u * (stops[i + 1][c] - stops[i][c]));
    snprintf(out, size, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* Item a has a worse metric (the last dimension) than item b; no metric is worst. */
static int ranks_below(const nni_parallel *p, int a, int b)
{
    double va = p->values[a * p->dims + p->dims - 1], vb = p->values[b * p->dims + p->dims - 1];
    if (isnan(va) || isnan(vb))
        return isnan(va) && !isnan(vb);
    return p->maximize ? va < vb : va > vb;
}

void nni_plot_parallel(nni_text *out, const nni_parallel *p, const char *id)
{
    int width = 760, height = 380;
    svg_open(out, id, width, height, p->title);
    double left = 70, right = width - 70, top = 64, bottom = height - 46;
    double gap = p->dims > 1 ? (right - left) / (p->dims - 1) : 0;
    int rotate = p->dims > 1 && 16 * CHAR_PX > gap;
    axis axes[32];
    int dims = p->dims < 32 ? p->dims : 32;
    for (int d = 0; d < dims; d++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < p->items; i++) {
            double v = p->values[i * p->dims + d];
            if (isfinite(v) && (!p->log[d] || v > 0)) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
        if (!(lo <= hi))
            lo = 0, hi = 1;
        axes[d] = (axis){.from = bottom, .to = top};
        int named = p->n_categories && p->categories && p->n_categories[d] > 0;
        if (!named) {
            axis_fit(&axes[d], lo, hi, p->log[d], 0, 4);
            continue;
        }
        int n = p->n_categories[d] < MAX_TICKS ? p->n_categories[d] : MAX_TICKS;
        axis_fit(&axes[d], 0, n - 1, 0, 1, 4);
        axes[d].n_ticks = n; /* one tick per category, labelled with its name */
        for (int i = 0; i < n; i++) {
            axes[d].ticks[i] = i;
            snprintf(axes[d].labels[i], sizeof axes[d].labels[0], "%.12s",
                     p->categories[d][i]);
        }
    }
    /* rank of each item by the last dimension: colour and drawing order */
    int order[4096];
    int items = p->items < 4096 ? p->items : 4096;
    for (int i = 0; i < items; i++)
        order[i] = i;
    for (int i = 1; i < items; i++) { /* worst first, so the best is drawn on top */
        int k = order[i], j = i;
        while (j > 0 && ranks_below(p, k, order[j - 1])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    for (int r = 0; r < items; r++) {
        int i = order[r];
        char colour[16];
        sequential(colour, sizeof colour, items > 1 ? (double)r / (items - 1) : 1);
        nni_text_printf(out, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" "
                        "stroke-opacity=\"0.85\" d=\"", colour, r == items - 1 ? "3" : "1.6");
        int pen = 0;
        for (int d = 0; d < dims; d++) {
            double v = p->values[i * p->dims + d];
            if (!isfinite(v) || (axes[d].log && v <= 0)) {
                pen = 0;
                continue;
            }
            nni_text_printf(out, "%s%.1f %.1f ", pen ? "L" : "M", left + gap * d,
                            axis_pos(&axes[d], v));
            pen = 1;
        }
        nni_text_puts(out, "\"/>\n");
    }
    for (int d = 0; d < dims; d++) {
        double ax = left + gap * d;
        nni_text_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                        "stroke=\"#333333\"/>\n", ax, top, ax, bottom);
        for (int t = 0; t < axes[d].n_ticks; t++) {
            double py = axis_pos(&axes[d], axes[d].ticks[t]);
            nni_text_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                            "stroke=\"#333333\"/>\n", ax - 4, py, ax, py);
            int last = d == dims - 1; /* the metric's labels go right of its axis */
            nni_text_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
                            "font-size=\"11\" stroke=\"#ffffff\" stroke-width=\"3\" "
                            "paint-order=\"stroke\">%s</text>\n", last ? ax + 6 : ax - 6, py + 4,
                            last ? "start" : "end", axes[d].labels[t]);
        }
        /* a long key keeps its last components: "train.optimizer.lr" -> "optimizer.lr" */
        const char *tail = p->names[d];
        while (strlen(tail) > 16 && strchr(tail, '.'))
            tail = strchr(tail, '.') + 1;
        if (rotate)
            put_text(out, ax, top - 10, "start", -25, tail, 40);
        else
            put_text(out, ax, top - 12, d == 0 ? "start" : d == dims - 1 ? "end" : "middle", 0,
                     tail, 40);
    }
    put_text(out, width / 2.0, height - 14, "middle", 0,
             "each line is one trial; darker = better metric, the best drawn thickest", 90);
    nni_text_puts(out, "</svg>\n");
}
