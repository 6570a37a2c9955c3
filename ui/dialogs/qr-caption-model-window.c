/* qr-caption-model-window.c: see qr-caption-model-window.h. The plot is drawn with cairo: each
 * epoch's mean training loss (left scale) and held-out recall@5 (right scale, 0 to 1), from the
 * metrics the trainer stores with every epoch. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-caption-model-window.h"
#include "qr-caption-model.h"

#include "qr-plot.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

typedef struct
{
  int    epoch;
  double loss, recall_at_5;
} EpochPoint;

struct _QrCaptionModelWindow
{
  AdwWindow   parent_instance;
  QrCatalog  *catalog;
  GArray     *points;        /* EpochPoint of the run plotted */
  int         epochs_asked;  /* of that run */
  char       *summary;
  gboolean    busy;
  GtkWidget  *summary_label;
  GtkWidget  *status_label;
  GtkWidget  *area;
  GtkWidget  *epochs_spin;
  GtkWidget  *train_button;
  GtkWidget  *restart_button;
  GtkWidget  *cancel_button;
};

G_DEFINE_FINAL_TYPE (QrCaptionModelWindow, qr_caption_model_window, ADW_TYPE_WINDOW)

static void
draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  QrCaptionModelWindow *self = data;
  GtkWidget *w = GTK_WIDGET (area);
  double left = 56, right = width - 56, top = 28, bottom = height - 34, max_loss = 0;
  guint n = self->points->len;
  int last_epoch = MAX (self->epochs_asked, n > 0 ? g_array_index (self->points, EpochPoint, n - 1).epoch : 1);

  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 12);
  if (n == 0)
    {
      qr_plot_set_fg (cr, w, 0.55);
      qr_plot_text (cr, width / 2.0, height / 2.0, _("Each finished epoch's loss and held-out recall appear here"), 0.5);
      return;
    }
  for (guint i = 0; i < n; i++)
    max_loss = MAX (max_loss, g_array_index (self->points, EpochPoint, i).loss);
  max_loss = max_loss > 0 ? max_loss * 1.05 : 1;

  /* axes and scales */
  qr_plot_set_fg (cr, w, 0.25);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, left, top);
  cairo_line_to (cr, left, bottom);
  cairo_line_to (cr, right, bottom);
  cairo_line_to (cr, right, top);
  cairo_stroke (cr);
  qr_plot_set_fg (cr, w, 0.6);
  for (int k = 0; k <= 4; k++)
    {
      double y = bottom - (bottom - top) * k / 4.0;
      g_autofree char *l = g_strdup_printf ("%.2f", max_loss * k / 4.0);
      g_autofree char *r = g_strdup_printf ("%.2f", k / 4.0);
      qr_plot_text (cr, left - 6, y + 4, l, 1);
      qr_plot_text (cr, right + 6, y + 4, r, 0);
    }
  {
    g_autofree char *first = g_strdup ("1");
    g_autofree char *last = g_strdup_printf ("%d", last_epoch);
    qr_plot_text (cr, left, bottom + 16, first, 0.5);
    qr_plot_text (cr, right, bottom + 16, last, 0.5);
    qr_plot_text (cr, (left + right) / 2, bottom + 28, _("epoch"), 0.5);
  }

#define X_OF(e) (last_epoch > 1 ? left + (right - left) * ((e) - 1) / (double) (last_epoch - 1) : (left + right) / 2)
  /* loss: orange; recall@5: blue */
  cairo_set_line_width (cr, 2);
  cairo_set_source_rgb (cr, 0.90, 0.38, 0.0);
  for (guint i = 0; i < n; i++)
    {
      const EpochPoint *p = &g_array_index (self->points, EpochPoint, i);
      double x = X_OF (p->epoch), y = bottom - (bottom - top) * p->loss / max_loss;
      if (i == 0)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
    }
  cairo_stroke (cr);
  cairo_set_source_rgb (cr, 0.21, 0.52, 0.89);
  for (guint i = 0; i < n; i++)
    {
      const EpochPoint *p = &g_array_index (self->points, EpochPoint, i);
      double x = X_OF (p->epoch), y = bottom - (bottom - top) * p->recall_at_5;
      if (i == 0)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
    }
  cairo_stroke (cr);
  for (guint i = 0; i < n; i++)
    {
      const EpochPoint *p = &g_array_index (self->points, EpochPoint, i);
      cairo_arc (cr, X_OF (p->epoch), bottom - (bottom - top) * p->recall_at_5, 2.5, 0, 2 * G_PI);
      cairo_fill (cr);
    }
#undef X_OF

  /* legend */
  cairo_set_source_rgb (cr, 0.90, 0.38, 0.0);
  cairo_rectangle (cr, left + 8, top - 18, 14, 3);
  cairo_fill (cr);
  qr_plot_set_fg (cr, w, 0.8);
  qr_plot_text (cr, left + 28, top - 12, _("training loss (left)"), 0);
  cairo_set_source_rgb (cr, 0.21, 0.52, 0.89);
  cairo_rectangle (cr, left + 188, top - 18, 14, 3);
  cairo_fill (cr);
  qr_plot_set_fg (cr, w, 0.8);
  qr_plot_text (cr, left + 208, top - 12, _("held-out recall@5 (right)"), 0);
}

/* The run's epochs from its metrics JSON (one object per finished epoch). */
static void
read_points (QrCaptionModelWindow *self, const QrTextModelRecord *record)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonArray *array;

  g_array_set_size (self->points, 0);
  self->epochs_asked = record ? record->epochs : 0;
  if (record == NULL || record->metrics == NULL || !json_parser_load_from_data (parser, record->metrics, -1, NULL)
      || !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    return;
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);
      EpochPoint p;
      if (o == NULL)
        continue;
      p.epoch = (int) json_object_get_int_member_with_default (o, "epoch", i + 1);
      p.loss = json_object_get_double_member_with_default (o, "loss", 0);
      p.recall_at_5 = json_object_get_double_member_with_default (o, "recall_at_5", 0);
      g_array_append_val (self->points, p);
    }
}

static const EpochPoint *
last_point (QrCaptionModelWindow *self)
{
  return self->points->len ? &g_array_index (self->points, EpochPoint, self->points->len - 1) : NULL;
}

static char *
describe (const QrTextModelRecord *record, const EpochPoint *last, gboolean unfinished)
{
  g_autoptr (GDateTime) when = g_date_time_new_from_unix_local (record->updated_us / G_USEC_PER_SEC);
  g_autofree char *date = g_date_time_format (when, "%-d %b %Y %H:%M");
  g_autofree char *recall = last ? g_strdup_printf (_("held-out recall@5 %.2f"), last->recall_at_5)
                                 : g_strdup (_("no held-out measure"));

  if (unfinished)
    return g_strdup_printf (_("Unfinished training run: epoch %d of %d, %s (saved %s). Resume goes on from there."),
                            record->epoch, record->epochs, recall, date);
  return g_strdup_printf (_("In use: trained %d epochs over the %s backbone's features, %s, on %s."), record->epoch,
                          record->backbone, recall, date);
}

void
qr_caption_model_window_refresh (QrCaptionModelWindow *self, gboolean busy, const char *status)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrTextModelRecord) ready = NULL;
  g_autoptr (QrTextModelRecord) unfinished = NULL;
  g_autofree char *in_use = NULL, *running = NULL;
  QrCatalogStats stats = { 0 };
  const QrTextModelRecord *plotted;
  int judged = 0;

  g_return_if_fail (QR_IS_CAPTION_MODEL_WINDOW (self));
  self->busy = busy;
  qr_catalog_get_stats (self->catalog, &stats, NULL);
  ready = qr_catalog_get_text_model (self->catalog, QR_CAPTION_MODEL_KIND, &error);
  if (ready != NULL && !g_str_equal (ready->state, "ready"))
    g_clear_pointer (&ready, qr_text_model_record_free);   /* an unfinished one: said below */
  unfinished = qr_catalog_get_unfinished_text_model (self->catalog, QR_CAPTION_MODEL_KIND, NULL);
  if (unfinished != NULL && (unfinished->epoch == 0 || unfinished->model == NULL))
    g_clear_pointer (&unfinished, qr_text_model_record_free);   /* stopped before an epoch: nothing to resume */
  plotted = unfinished != NULL ? unfinished : ready;
  if (ready != NULL)
    {
      g_autofree char *model = NULL;
      read_points (self, ready);
      model = describe (ready, last_point (self), FALSE);
      /* its out-of-fold judges, which find caption mistakes; not counted while a job trains (each
       * count reads the judges' weights, and the window refreshes after every epoch) */
      int of = QR_CAPTION_MODEL_JUDGES;
      judged = unfinished != NULL || busy ? QR_CAPTION_MODEL_JUDGES
                                          : qr_caption_model_judges_done (self->catalog, ready->id, &of, NULL);
      if (unfinished != NULL || busy)
        in_use = g_steal_pointer (&model);
      else if (judged == QR_CAPTION_MODEL_JUDGES)
        in_use = g_strdup_printf (_("%s Caption mistakes are judged by %d copies of it, each trained without the captions "
                                    "it judges."), model, judged);
      else
        in_use = g_strdup_printf (_("%s Its judges of caption mistakes (%d copies, each trained without the captions it "
                                    "judges): %d done. Resume trains the rest."), model, QR_CAPTION_MODEL_JUDGES,
                                  MAX (judged, 0));
    }
  if (unfinished != NULL)
    {
      read_points (self, unfinished);
      running = describe (unfinished, last_point (self), TRUE);
    }
  read_points (self, plotted);
  g_free (self->summary);
  if (in_use == NULL && running == NULL)
    self->summary = stats.captions < QR_CAPTION_MODEL_MIN_CAPTIONS
                      ? g_strdup_printf (_("No caption model yet. It learns from this collection's captions: there "
                                           "are %" G_GINT64_FORMAT ", it needs at least %d (import COCO captions, or "
                                           "write them in the inspector)."),
                                         stats.captions, QR_CAPTION_MODEL_MIN_CAPTIONS)
                      : g_strdup_printf (_("No caption model yet. Training learns from the collection's %" G_GINT64_FORMAT
                                           " captions, holding a tenth of the images out to measure it."),
                                         stats.captions);
  else
    self->summary = g_strjoin ("\n", in_use ? in_use : running, in_use && running ? running : NULL, NULL);
  gtk_label_set_text (GTK_LABEL (self->summary_label), self->summary);
  gtk_label_set_text (GTK_LABEL (self->status_label), status ? status : "");
  gtk_widget_set_visible (self->status_label, status != NULL);

  gtk_button_set_label (GTK_BUTTON (self->train_button),
                        unfinished || (ready && judged < QR_CAPTION_MODEL_JUDGES) ? _("_Resume") : _("_Train"));
  gtk_widget_set_visible (self->restart_button, (unfinished != NULL || (ready && judged < QR_CAPTION_MODEL_JUDGES)) && !busy);
  gtk_widget_set_visible (self->cancel_button, busy);
  {
    /* focus leaves the spin button before it goes insensitive (GTK 4.8 warns otherwise) */
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
    gboolean spin_on = !busy && unfinished == NULL && !(ready && judged < QR_CAPTION_MODEL_JUDGES);   /* resumes keep theirs */
    if (!spin_on && focus != NULL && (focus == self->epochs_spin || gtk_widget_is_ancestor (focus, self->epochs_spin)))
      gtk_widget_grab_focus (busy ? self->cancel_button : self->train_button);
    gtk_widget_set_sensitive (self->epochs_spin, spin_on);
  }
  gtk_widget_set_sensitive (self->train_button, !busy && stats.captions >= QR_CAPTION_MODEL_MIN_CAPTIONS);
  gtk_widget_queue_draw (self->area);
}

static void
start (QrCaptionModelWindow *self, gboolean restart)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  int epochs = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (self->epochs_spin));

  if (parent != NULL)
    gtk_widget_activate_action (GTK_WIDGET (parent), "win.train-caption-model", "(ib)", epochs, restart);
}

static void
train_clicked (GtkButton *button, QrCaptionModelWindow *self)
{
  start (self, FALSE);
}

static void
restart_clicked (GtkButton *button, QrCaptionModelWindow *self)
{
  start (self, TRUE);
}

static void
cancel_clicked (GtkButton *button, QrCaptionModelWindow *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  if (parent != NULL)
    gtk_widget_activate_action (GTK_WIDGET (parent), "win.cancel-job", NULL);
}

static void
qr_caption_model_window_finalize (GObject *object)
{
  QrCaptionModelWindow *self = QR_CAPTION_MODEL_WINDOW (object);
  g_clear_object (&self->catalog);
  g_array_unref (self->points);
  g_free (self->summary);
  G_OBJECT_CLASS (qr_caption_model_window_parent_class)->finalize (object);
}

static void
qr_caption_model_window_class_init (QrCaptionModelWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qr_caption_model_window_finalize;
  gtk_widget_class_add_binding_action (GTK_WIDGET_CLASS (klass), GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
qr_caption_model_window_init (QrCaptionModelWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *body = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *controls = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *epochs_label = gtk_label_new_with_mnemonic (_("_Epochs"));
  GtkWidget *frame = gtk_frame_new (NULL);

  self->points = g_array_new (FALSE, FALSE, sizeof (EpochPoint));
  gtk_window_set_title (GTK_WINDOW (self), _("Caption Model"));
  gtk_window_set_default_size (GTK_WINDOW (self), 720, 520);

  gtk_widget_set_margin_start (body, 18);
  gtk_widget_set_margin_end (body, 18);
  gtk_widget_set_margin_top (body, 12);
  gtk_widget_set_margin_bottom (body, 18);

  self->summary_label = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (self->summary_label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->summary_label), 0);
  self->status_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->status_label), 0);
  gtk_widget_add_css_class (self->status_label, "dim-label");
  gtk_widget_add_css_class (self->status_label, "numeric");

  self->area = gtk_drawing_area_new ();
  gtk_widget_set_vexpand (self->area, TRUE);
  gtk_widget_set_size_request (self->area, -1, 240);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->area), draw, self, NULL);
  gtk_frame_set_child (GTK_FRAME (frame), self->area);

  self->epochs_spin = gtk_spin_button_new_with_range (1, 500, 1);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->epochs_spin), 20);
  gtk_label_set_mnemonic_widget (GTK_LABEL (epochs_label), self->epochs_spin);
  gtk_widget_set_tooltip_text (self->epochs_spin, _("Passes over every training caption"));
  self->train_button = gtk_button_new_with_mnemonic (_("_Train"));
  gtk_widget_add_css_class (self->train_button, "suggested-action");
  gtk_widget_set_tooltip_text (self->train_button,
                               _("Computes each image's backbone features (once), then trains; every epoch is saved, "
                                 "and the model in use stays until the new one finishes"));
  self->restart_button = gtk_button_new_with_mnemonic (_("_Start Over"));
  gtk_widget_set_tooltip_text (self->restart_button, _("Drop the unfinished run and train a new model"));
  self->cancel_button = gtk_button_new_with_mnemonic (_("_Stop"));
  gtk_widget_add_css_class (self->cancel_button, "destructive-action");
  gtk_widget_set_tooltip_text (self->cancel_button, _("Stop after the current batch: finished epochs are kept"));
  g_signal_connect (self->train_button, "clicked", G_CALLBACK (train_clicked), self);
  g_signal_connect (self->restart_button, "clicked", G_CALLBACK (restart_clicked), self);
  g_signal_connect (self->cancel_button, "clicked", G_CALLBACK (cancel_clicked), self);
  gtk_widget_set_hexpand (epochs_label, TRUE);
  gtk_label_set_xalign (GTK_LABEL (epochs_label), 1);
  gtk_box_append (GTK_BOX (controls), epochs_label);
  gtk_box_append (GTK_BOX (controls), self->epochs_spin);
  gtk_box_append (GTK_BOX (controls), self->restart_button);
  gtk_box_append (GTK_BOX (controls), self->cancel_button);
  gtk_box_append (GTK_BOX (controls), self->train_button);

  gtk_box_append (GTK_BOX (body), self->summary_label);
  gtk_box_append (GTK_BOX (body), frame);
  gtk_box_append (GTK_BOX (body), self->status_label);
  gtk_box_append (GTK_BOX (body), controls);
  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), body);
  adw_window_set_content (ADW_WINDOW (self), box);
}

QrCaptionModelWindow *
qr_caption_model_window_new (GtkWindow *parent, QrCatalog *catalog)
{
  QrCaptionModelWindow *self = g_object_new (QR_TYPE_CAPTION_MODEL_WINDOW, NULL);
  self->catalog = g_object_ref (catalog);
  gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  qr_caption_model_window_refresh (self, FALSE, NULL);
  return self;
}

const char *
qr_caption_model_window_get_summary (QrCaptionModelWindow *self)
{
  return self->summary;
}

guint
qr_caption_model_window_get_n_epochs (QrCaptionModelWindow *self)
{
  return self->points->len;
}
