/* One report page: the HTML built in memory (inline CSS and SVG, no external reference),
 * its plots kept also as standalone SVG files (and images as PNG), and the writing of both. Nothing is written
 * until the whole page is built; then the plots go to "<page>-plots/" and the page itself is
 * written last by the atomic protocol (core/files.h), so a failed report leaves the previous
 * page as it was. */
#ifndef NNI_REPORT_PAGE_H
#define NNI_REPORT_PAGE_H

#include "nn/error.h"
#include "core/text.h"

enum { NNI_PAGE_MAX_PLOTS = 64 };

typedef struct nni_page {
    nni_text html;
    int n_plots;
    char *plot_name[NNI_PAGE_MAX_PLOTS];
    nni_text plot[NNI_PAGE_MAX_PLOTS];
    int plot_is_png[NNI_PAGE_MAX_PLOTS]; /* PNG bytes (NAME.png), not SVG text */
    nni_text scratch; /* the plot being drawn */
} nni_page;

/* `refresh_seconds` > 0 makes the browser reload the page (report --watch). */
void nni_page_begin(nni_page *p, const char *title, int refresh_seconds);
void nni_page_section(nni_page *p, const char *id, const char *heading);
void nni_page_section_end(nni_page *p);
/* A paragraph of plain text (escaped). */
void nni_page_note(nni_page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A <pre> block of the text (escaped). */
void nni_page_pre(nni_page *p, const char *id, const char *text);
/* The buffer to draw the next plot into, then its inclusion in the page (and as
 * <page>-plots/NAME.svg). */
nni_text *nni_page_plot_begin(nni_page *p);
void nni_page_plot_end(nni_page *p, const char *name);
/* A PNG image (the file's bytes, copied) kept beside the page as <page>-plots/NAME.png. */
void nni_page_attach_png(nni_page *p, const char *name, const nni_text *png);
void nni_page_end(nni_page *p);
nn_status nni_page_write(nni_page *p, const char *path, nn_error *err);
void nni_page_free(nni_page *p);

#endif
