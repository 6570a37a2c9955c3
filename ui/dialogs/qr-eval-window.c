/* qr-eval-window.c: see qr-eval-window.h. Three plots drawn with cairo: each peer's mAP@0.5 and
 * mAP@[.5:.95] as bars (precision and recall beside them), the agreement matrix as shaded cells,
 * and the histogram of label-mistake scores. The numbers are computed on a thread. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-eval-window.h"
#include "qr-evaluation.h"

#include "qr-plot.h"

#include <glib/gi18n.h>

struct _QrEvalWindow
{
  AdwWindow         parent_instance;
  char             *root;
  char             *db_path;
  gboolean          all_labels;
  QrCollectionEval *eval;
  char             *message;     /* why there is nothing to plot */
  GtkWidget        *area;
  GtkWidget        *all_switch;
  GCancellable     *cancellable;
};

G_DEFINE_FINAL_TYPE (QrEvalWindow, qr_eval_window, ADW_TYPE_WINDOW)

static void
draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  QrEvalWindow *self = data;
  QrCollectionEval *e = self->eval;
  GtkWidget *w = GTK_WIDGET (area);
  double x0 = 24, y = 36, col = (width - 48) / 2.0;
  guint n;

  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 13);
  if (e == NULL)
    {
      qr_plot_set_fg (cr, w, 0.6);
      qr_plot_text (cr, width / 2.0, height / 2.0, self->message ? self->message : _("Computing…"), 0.5);
      return;
    }
  n = e->peer_names->len;

  /* 1. mAP per peer: two bars each (0.5 dark, .5:.95 light) on a 0..1 scale */
  qr_plot_set_fg (cr, w, 1);
  cairo_set_font_size (cr, 15);
  qr_plot_text (cr, x0, y, _("mAP per peer"), 0);
  cairo_set_font_size (cr, 12);
  {
    g_autofree char *sub = g_strdup_printf (_("%u images, %s labels; precision / recall at score ≥ 0.25"),
                                            e->n_images, self->all_labels ? _("all") : _("reviewed"));
    qr_plot_set_fg (cr, w, 0.6);
    qr_plot_text (cr, x0, y + 18, sub, 0);
    /* the two bars' legend, at the right of the subtitle */
    {
      cairo_text_extents_t ext;
      double lx;
      cairo_text_extents (cr, sub, &ext);
      lx = x0 + ext.x_advance + 24;
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 1);
      cairo_rectangle (cr, lx, y + 9, 14, 9);
      cairo_fill (cr);
      qr_plot_set_fg (cr, w, 0.8);
      qr_plot_text (cr, lx + 18, y + 18, _("mAP@0.5 (first number)"), 0);
      cairo_text_extents (cr, _("mAP@0.5 (first number)"), &ext);
      lx += 18 + ext.x_advance + 16;
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.45);
      cairo_rectangle (cr, lx, y + 9, 14, 9);
      cairo_fill (cr);
      qr_plot_set_fg (cr, w, 0.8);
      qr_plot_text (cr, lx + 18, y + 18, _("mAP@0.5:0.95 (second)"), 0);
    }
  }
  y += 36;
  for (guint p = 0; p < n; p++)
    {
      double bar_w = width - 48 - 120 - 280, yy = y + p * 34;
      g_autofree char *label = g_strdup_printf ("%.3f / %.3f   P %.2f  R %.2f", e->map50[p], e->map50_95[p],
                                                e->precision[p], e->recall[p]);
      qr_plot_set_fg (cr, w, 1);
      qr_plot_text (cr, x0, yy + 16, e->peer_names->pdata[p], 0);
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 1);
      cairo_rectangle (cr, x0 + 120, yy + 4, MAX (bar_w, 40) * e->map50[p], 10);
      cairo_fill (cr);
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.45);
      cairo_rectangle (cr, x0 + 120, yy + 15, MAX (bar_w, 40) * e->map50_95[p], 10);
      cairo_fill (cr);
      qr_plot_set_fg (cr, w, 0.8);
      qr_plot_text (cr, x0 + 128 + MAX (bar_w, 40), yy + 18, label, 0);
    }
  y += n * 34 + 30;

  /* 2. agreement matrix, left; 3. histogram, right */
  {
    double cell = MIN (56, (col - 130) / MAX (n, 1)), mx = x0 + 120, my = y + 40;
    qr_plot_set_fg (cr, w, 1);
    cairo_set_font_size (cr, 15);
    qr_plot_text (cr, x0, y, _("Agreement"), 0);
    cairo_set_font_size (cr, 11);
    qr_plot_set_fg (cr, w, 0.6);
    qr_plot_text (cr, x0, y + 18, _("row's boxes the column also found"), 0);
    /* columns are numbered (names side by side overlap); each row says its number */
    for (guint q = 0; q < n; q++)
      {
        g_autofree char *number = g_strdup_printf ("%u", q + 1);
        qr_plot_set_fg (cr, w, 0.8);
        qr_plot_text (cr, mx + q * cell + cell / 2, my - 6, number, 0.5);
      }
    for (guint p = 0; p < n; p++)
      {
        g_autofree char *name = g_strdup_printf ("%s  %u", (char *) e->peer_names->pdata[p], p + 1);
        qr_plot_set_fg (cr, w, 0.8);
        qr_plot_text (cr, mx - 8, my + p * cell + cell / 2 + 4, name, 1);
        for (guint q = 0; q < n; q++)
          {
            double v = e->agreement[p * n + q];
            g_autofree char *num = g_strdup_printf ("%.2f", v);
            cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.15 + 0.85 * v);
            cairo_rectangle (cr, mx + q * cell + 1, my + p * cell + 1, cell - 2, cell - 2);
            cairo_fill (cr);
            cairo_set_source_rgb (cr, v > 0.5 ? 1 : 0.1, v > 0.5 ? 1 : 0.1, v > 0.5 ? 1 : 0.1);
            qr_plot_text (cr, mx + q * cell + cell / 2, my + p * cell + cell / 2 + 4, num, 0.5);
          }
      }
  }
  {
    double hx = x0 + col + 24, hw = col - 48, hh = MAX (height - y - 80, 60), top = y + 40;
    guint most = 1;
    for (int b = 0; b < 10; b++)
      most = MAX (most, e->histogram[b]);
    qr_plot_set_fg (cr, w, 1);
    cairo_set_font_size (cr, 15);
    qr_plot_text (cr, hx, y, _("Label-mistake scores"), 0);
    cairo_set_font_size (cr, 11);
    {
      g_autofree char *sub = g_strdup_printf (_("%u items, by tenths of the score; orange: 0.5 and up, likely "
                                                "mistakes"), e->n_items);
      qr_plot_set_fg (cr, w, 0.6);
      qr_plot_text (cr, hx, y + 18, sub, 0);
    }
    for (int b = 0; b < 10; b++)
      {
        double bh = hh * e->histogram[b] / most, bx = hx + b * hw / 10;
        g_autofree char *count = g_strdup_printf ("%u", e->histogram[b]);
        g_autofree char *tick = g_strdup_printf ("%.1f", b / 10.0);
        cairo_set_source_rgba (cr, b >= 5 ? 0.88 : 0.21, b >= 5 ? 0.38 : 0.52, b >= 5 ? 0.0 : 0.89, 0.85);
        cairo_rectangle (cr, bx + 2, top + hh - bh, hw / 10 - 4, bh);
        cairo_fill (cr);
        qr_plot_set_fg (cr, w, 0.8);
        qr_plot_text (cr, bx + hw / 20, top + hh - bh - 4, count, 0.5);
        qr_plot_set_fg (cr, w, 0.6);
        qr_plot_text (cr, bx, top + hh + 14, tick, 0.5);
      }
  }
}

static void
evaluate_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  QrEvalWindow *self = source;
  g_autoptr (QrCatalog) catalog = NULL;
  GError *error = NULL;
  QrCollectionEval *eval;

  catalog = qr_catalog_open (self->root, self->db_path, &error);
  if (catalog == NULL || (eval = qr_collection_evaluate (catalog, GPOINTER_TO_INT (data), 0.25, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, eval, (GDestroyNotify) qr_collection_eval_free);
}

static void
evaluated (GObject *source, GAsyncResult *result, gpointer data)
{
  QrEvalWindow *self = QR_EVAL_WINDOW (source);
  g_autoptr (GError) error = NULL;
  QrCollectionEval *eval = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_pointer (&self->eval, qr_collection_eval_free);
  g_clear_pointer (&self->message, g_free);
  self->eval = eval;
  if (eval == NULL)
    self->message = g_strdup (error->message);
  gtk_widget_queue_draw (self->area);
}

static void
refresh (QrEvalWindow *self)
{
  g_autoptr (GTask) task = NULL;

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_pointer (&self->eval, qr_collection_eval_free);
  g_clear_pointer (&self->message, g_free);
  gtk_widget_queue_draw (self->area);
  task = g_task_new (self, self->cancellable, evaluated, NULL);
  g_task_set_task_data (task, GINT_TO_POINTER (self->all_labels), NULL);
  g_task_run_in_thread (task, evaluate_thread);
}

static void
all_labels_changed (GObject *sw, GParamSpec *pspec, QrEvalWindow *self)
{
  self->all_labels = gtk_switch_get_active (GTK_SWITCH (sw));
  refresh (self);
}

static void
qr_eval_window_dispose (GObject *object)
{
  QrEvalWindow *self = QR_EVAL_WINDOW (object);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (qr_eval_window_parent_class)->dispose (object);
}

static void
qr_eval_window_finalize (GObject *object)
{
  QrEvalWindow *self = QR_EVAL_WINDOW (object);
  g_free (self->root);
  g_free (self->db_path);
  g_free (self->message);
  qr_collection_eval_free (self->eval);
  G_OBJECT_CLASS (qr_eval_window_parent_class)->finalize (object);
}

static void
qr_eval_window_class_init (QrEvalWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = qr_eval_window_dispose;
  G_OBJECT_CLASS (klass)->finalize = qr_eval_window_finalize;
  gtk_widget_class_add_binding_action (GTK_WIDGET_CLASS (klass), GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
qr_eval_window_init (QrEvalWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *label = gtk_label_new (_("Every Label"));

  gtk_window_set_title (GTK_WINDOW (self), _("Evaluation"));
  gtk_window_set_default_size (GTK_WINDOW (self), 900, 640);
  self->all_switch = gtk_switch_new ();
  gtk_widget_set_valign (self->all_switch, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (self->all_switch, _("Evaluate against every label, not only reviewed images'"));
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), self->all_switch);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), label);
  g_signal_connect (self->all_switch, "notify::active", G_CALLBACK (all_labels_changed), self);
  self->area = gtk_drawing_area_new ();
  gtk_widget_set_vexpand (self->area, TRUE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->area), draw, self, NULL);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), self->area);
  adw_window_set_content (ADW_WINDOW (self), box);
}

QrEvalWindow *
qr_eval_window_new (GtkWindow *parent, QrCatalog *catalog, gboolean all_labels)
{
  QrEvalWindow *self = g_object_new (QR_TYPE_EVAL_WINDOW, NULL);
  self->root = g_strdup (qr_catalog_get_root (catalog));
  self->db_path = g_strdup (qr_catalog_get_db_path (catalog));
  self->all_labels = all_labels;
  gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  g_signal_handlers_block_matched (self->all_switch, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_switch_set_active (GTK_SWITCH (self->all_switch), all_labels);
  g_signal_handlers_unblock_matched (self->all_switch, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  refresh (self);
  return self;
}

const QrCollectionEval *
qr_eval_window_get_eval (QrEvalWindow *self)
{
  return self->eval;
}

const char *
qr_eval_window_get_message (QrEvalWindow *self)
{
  return self->message;
}
