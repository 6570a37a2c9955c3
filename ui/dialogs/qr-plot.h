/* qr-plot.h: what the windows that plot with cairo share (Evaluation, Caption Model): text placed
 * by its alignment, and the widget's foreground colour at an alpha. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* s with its baseline at y; align 0 puts its left end at x, 0.5 its middle, 1 its right end. */
void qr_plot_text   (cairo_t    *cr,
                     double      x,
                     double      y,
                     const char *s,
                     double      align);
/* The source: the widget's text colour, alpha times its own. */
void qr_plot_set_fg (cairo_t    *cr,
                     GtkWidget  *widget,
                     double      alpha);

G_END_DECLS
