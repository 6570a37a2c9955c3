/* qr-plot.c: see qr-plot.h. */
#include "qr-plot.h"

void
qr_plot_text (cairo_t *cr, double x, double y, const char *s, double align)
{
  cairo_text_extents_t ext;
  cairo_text_extents (cr, s, &ext);
  cairo_move_to (cr, x - ext.x_advance * align, y);
  cairo_show_text (cr, s);
}

void
qr_plot_set_fg (cairo_t *cr, GtkWidget *widget, double alpha)
{
  GdkRGBA fg;
  /* gtk_widget_get_color is GTK 4.10; Debian 12 has 4.8 */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * alpha);
}
