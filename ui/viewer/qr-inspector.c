/* qr-inspector.c: see qr-inspector.h. The list is rebuilt whenever the canvas's boxes change,
 * and follows its selection without being rebuilt. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-inspector.h"
#include "qr-scorer.h"

#include <adwaita.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

struct _QrInspector
{
  GtkWidget   parent_instance;

  /* Template widgets */
  GtkListBox *list;

  /* Borrowed references */
  QrCanvas   *canvas;
  QrCatalog  *catalog;
  QrHistory  *history;
  QrScorer   *scorer;         /* NULL until the viewer has read the peers' consensus */
  gint64      image_id;

  /* Owned references */
  GPtrArray  *review_items;   /* the image's open review items (QrMistakeRecord) */
  GArray     *suggestions;    /* QrCaptionCandidate, after Suggest Captions; NULL before */
  char       *scorer_problem; /* why captions have no scores (no peer runs) */
  int         review_selected;
  gboolean    updating;       /* rows being rebuilt or reselected: not the user's choice */
};

G_DEFINE_FINAL_TYPE (QrInspector, qr_inspector, GTK_TYPE_WIDGET)

/* The inspector: the image's boxes with class, score and source, and for each box how every
 * model with boxes here voted: the score of its best same-class box overlapping it at IoU ≥ 0.5,
 * "–" when it has none (peer pressure in miniature; the review queue ranks the same votes). */

static float
overlap (const QrBox *a, const QrBox *b)
{
  double ix = MIN (a->x2, b->x2) - MAX (a->x1, b->x1), iy = MIN (a->y2, b->y2) - MAX (a->y1, b->y1), inter, uni;
  if (ix <= 0 || iy <= 0)
    return 0;
  inter = ix * iy;
  uni = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
  return uni > 0 ? (float) (inter / uni) : 0;
}

static char *
peer_votes (GPtrArray *boxes, const QrOverlayBox *b)
{
  g_autoptr (GPtrArray) models = g_ptr_array_new ();
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < boxes->len; i++)
    {
      QrOverlayBox *o = boxes->pdata[i];
      if (!o->is_label && !g_ptr_array_find_with_equal_func (models, o->source, g_str_equal, NULL))
        g_ptr_array_add (models, o->source);
    }
  for (guint m = 0; m < models->len; m++)
    {
      float best = 0;
      if (!b->is_label && g_str_equal (models->pdata[m], b->source))
        continue;
      for (guint i = 0; i < boxes->len; i++)
        {
          QrOverlayBox *o = boxes->pdata[i];
          if (!o->is_label && g_str_equal (o->source, models->pdata[m]) && g_str_equal (o->class_name, b->class_name)
              && overlap (&o->box, &b->box) >= 0.5f)
            best = MAX (best, o->score);
        }
      g_string_append_printf (text, "%s%s %s", text->len ? " · " : "", (const char *) models->pdata[m],
                              best > 0 ? "" : "–");
      if (best > 0)
        g_string_append_printf (text, "%.2f", best);
    }
  return g_string_free (text, FALSE);
}

/* Review items: the image's open items from the review queue, highest first, each with a small
 * bar per peer for its vote. Y accepts the peers' consensus, N keeps the label as it is, E marks
 * it edited by hand (then edit), S skips; each is stored with who and when, and Ctrl+Z undoes it. */
static const char *
kind_title (const char *kind)
{
  if (g_str_equal (kind, "missing"))
    return _("Missing label");
  if (g_str_equal (kind, "spurious"))
    return _("Spurious label");
  if (g_str_equal (kind, "wrong_class"))
    return _("Wrong class");
  if (g_str_equal (kind, "poorly_located"))
    return _("Poorly located");
  if (g_str_equal (kind, "caption"))
    return _("Caption");
  return _("Model mistake");
}

/* One row per peer: its name, a bar for its vote and the value ("–": it has no such class). */
static GtkWidget *
vote_bars (const char *votes_json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  GtkWidget *grid = gtk_grid_new ();
  JsonObject *votes;
  g_autoptr (GList) members = NULL;
  int row = 0;

  gtk_widget_set_valign (grid, GTK_ALIGN_CENTER);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 1);
  if (!json_parser_load_from_data (parser, votes_json, -1, NULL) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return grid;
  votes = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (votes);
  for (GList *l = members; l != NULL; l = l->next, row++)
    {
      JsonNode *node = json_object_get_member (votes, l->data);
      GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
      GtkWidget *name = gtk_label_new (l->data);
      GtkWidget *value;
      g_autofree char *tip = NULL, *number = NULL;

      gtk_widget_set_size_request (bar, 32, 4);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      if (JSON_NODE_HOLDS_NULL (node))
        {
          tip = g_strdup_printf (_("%s has no such class"), (const char *) l->data);
          gtk_widget_set_opacity (bar, 0.3);
          number = g_strdup ("–");
        }
      else
        {
          gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), json_node_get_double (node));
          tip = g_strdup_printf ("%s %.2f", (const char *) l->data, json_node_get_double (node));
          number = g_strdup_printf ("%.2f", json_node_get_double (node));
        }
      value = gtk_label_new (number);
      gtk_label_set_xalign (GTK_LABEL (name), 1);
      gtk_label_set_xalign (GTK_LABEL (value), 0);
      gtk_label_set_width_chars (GTK_LABEL (value), 3);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (name), 7);
      gtk_label_set_max_width_chars (GTK_LABEL (name), 9);
      gtk_widget_add_css_class (name, "caption");
      gtk_widget_add_css_class (name, "dim-label");
      gtk_widget_add_css_class (value, "caption");
      gtk_widget_add_css_class (value, "numeric");
      gtk_widget_set_tooltip_text (bar, tip);
      gtk_grid_attach (GTK_GRID (grid), name, 0, row, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), bar, 1, row, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), value, 2, row, 1, 1);
    }
  return grid;
}

static void
add_review_items (QrInspector *self)
{
  g_clear_pointer (&self->review_items, g_ptr_array_unref);
  if (self->catalog == NULL || self->image_id <= 0)
    return;
  self->review_items = qr_catalog_list_open_mistakes (self->catalog, self->image_id, NULL);
  for (guint i = 0; self->review_items != NULL && i < self->review_items->len; i++)
    {
      QrMistakeRecord *m = self->review_items->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = g_markup_printf_escaped ("%s: %s  <small>%.2f</small>", kind_title (m->kind),
                                                        m->class_name ? m->class_name : "?", m->score);
      g_autofree char *subtitle = NULL;
      if (g_str_equal (m->kind, "caption"))
        subtitle = g_markup_printf_escaped (_("%s · Y replaces it with the best suggestion, N keeps it, S skip"),
                                            m->reason ? m->reason : "");
      else if (m->label_class_name != NULL && g_strcmp0 (m->label_class_name, m->class_name) != 0)
        subtitle = g_markup_printf_escaped (_("labelled %s · Y accepts, N keeps, E edit, S skip"), m->label_class_name);
      else if (m->peer != NULL)
        subtitle = g_markup_printf_escaped (_("%s disagrees · Y agree, N keep, S skip"), m->peer);
      else
        subtitle = g_strdup (_("Y accepts the consensus, N keeps, E edit, S skip"));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), vote_bars (m->votes));
      g_object_set_data (G_OBJECT (row), "mistake-index", GINT_TO_POINTER ((int) i + 1));
      gtk_widget_add_css_class (row, "inspector-mistake");
      gtk_list_box_append (self->list, row);
      if ((int) i == self->review_selected)
        gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (row));
    }
}

static void
select_review_item (QrInspector *self, int index)
{
  QrMistakeRecord *m;
  if (self->review_items == NULL || index < 0 || (guint) index >= self->review_items->len)
    return;
  self->review_selected = index;
  m = self->review_items->pdata[index];
  if (g_str_equal (m->kind, "caption"))
    return;   /* about the whole image: nothing to zoom to */
  qr_canvas_set_highlight (self->canvas, &m->box);
  qr_canvas_zoom_to_box (self->canvas, &m->box);
}

/* Captions: each with its score and the words that scored, editable in place (Enter applies),
 * deletable; a row to type a new one; Suggest Captions lists sentences made from the detections,
 * each added with a click. Every change goes through the history: Ctrl+Z undoes it. */

static void canvas_changed (QrCanvas *canvas, QrInspector *self);

static void
refresh (QrInspector *self)
{
  if (self->canvas != NULL)
    canvas_changed (self->canvas, self);
}

static gboolean
refresh_idle (gpointer data)
{
  refresh (data);
  return G_SOURCE_REMOVE;
}

/* After the row that asked has finished its signal: the list is rebuilt under it. */
static void
refresh_later (QrInspector *self)
{
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, refresh_idle, g_object_ref (self), g_object_unref);
}

static void
report (QrInspector *self, GError *error)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  if (error == NULL)
    return;
  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (error->message));
  else
    g_message ("%s", error->message);
}

static void
caption_applied (AdwEntryRow *row, QrInspector *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (row), "caption-id"));

  if (self->history == NULL || text[0] == '\0')
    return;
  if (g_utf8_strlen (text, -1) > QR_TEXT_MAX_CHARS)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("A caption has at most %d characters"),
                   QR_TEXT_MAX_CHARS);
      report (self, error);
      return;
    }
  if (id > 0 ? !qr_history_set_caption_text (self->history, id, text, &error)
             : qr_history_add_caption (self->history, self->image_id, text, "typed", &error) < 0)
    report (self, error);
  refresh_later (self);
}

static void
caption_delete_clicked (GtkButton *button, QrInspector *self)
{
  g_autoptr (GError) error = NULL;
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (button), "caption-id"));

  if (self->history != NULL && !qr_history_delete_caption (self->history, id, &error))
    report (self, error);
  refresh_later (self);
}

static void
suggestion_used (GtkButton *button, QrInspector *self)
{
  g_autoptr (GError) error = NULL;
  const char *text = g_object_get_data (G_OBJECT (button), "caption-text");

  if (self->history != NULL && qr_history_add_caption (self->history, self->image_id, text, "suggested", &error) < 0)
    report (self, error);
  refresh_later (self);
}

static void
suggest_clicked (GtkButton *button, QrInspector *self)
{
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&self->suggestions, g_array_unref);
  if (self->scorer == NULL || !QR_IS_ZEROSHOT_SCORER (self->scorer))
    return;
  self->suggestions = qr_captions_suggest (QR_ZEROSHOT_SCORER (self->scorer), NULL, self->image_id, 5, &error);
  report (self, error);
  refresh_later (self);
}

static void
append_unselectable (QrInspector *self, GtkWidget *row)
{
  gtk_list_box_append (self->list, row);
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (GTK_IS_LIST_BOX_ROW (row) ? row : gtk_widget_get_parent (row)), FALSE);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (GTK_IS_LIST_BOX_ROW (row) ? row : gtk_widget_get_parent (row)), FALSE);
}

static void
add_captions (QrInspector *self)
{
  g_autoptr (GPtrArray) captions = NULL;
  GtkWidget *heading, *row, *button;

  if (self->catalog == NULL || self->image_id <= 0)
    return;
  captions = qr_catalog_list_caption_records (self->catalog, self->image_id, NULL);
  heading = gtk_label_new (_("Captions"));
  gtk_widget_add_css_class (heading, "heading");
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_set_margin_top (heading, 12);
  gtk_widget_set_margin_start (heading, 12);
  append_unselectable (self, heading);
  for (guint i = 0; captions != NULL && i < captions->len; i++)
    {
      QrCaptionRecord *c = captions->pdata[i];
      g_autofree char *title = NULL;
      row = adw_entry_row_new ();
      if (self->scorer != NULL)
        {
          QrScorerText *t = qr_scorer_prepare_caption (self->scorer, c->text, NULL);
          QrScore score = { 0 };
          if (t != NULL && qr_scorer_score (self->scorer, t, c->image_id, QR_TEXT_CAPTION, &score, NULL))
            title = g_strdup_printf ("%.2f · %s", score.score, score.explain && score.explain[0] ? score.explain
                                                                                                 : _("no word it knows"));
          qr_score_clear (&score);
          qr_scorer_text_free (self->scorer, t);
        }
      if (title == NULL)
        title = g_strdup (self->scorer_problem ? self->scorer_problem : c->source ? c->source : "");
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      gtk_editable_set_text (GTK_EDITABLE (row), c->text);
      adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (row), TRUE);
      g_object_set_data (G_OBJECT (row), "caption-id", GSIZE_TO_POINTER ((gsize) c->id));
      g_signal_connect (row, "apply", G_CALLBACK (caption_applied), self);
      button = gtk_button_new_from_icon_name ("user-trash-symbolic");
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (button, "flat");
      gtk_widget_set_tooltip_text (button, _("Delete this caption (Ctrl+Z brings it back)"));
      g_object_set_data (G_OBJECT (button), "caption-id", GSIZE_TO_POINTER ((gsize) c->id));
      g_signal_connect (button, "clicked", G_CALLBACK (caption_delete_clicked), self);
      adw_entry_row_add_suffix (ADW_ENTRY_ROW (row), button);
      gtk_widget_add_css_class (row, "inspector-caption");
      append_unselectable (self, row);
    }
  row = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Add a caption"));
  adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (row), TRUE);
  g_signal_connect (row, "apply", G_CALLBACK (caption_applied), self);
  gtk_widget_set_name (row, "caption-add");
  append_unselectable (self, row);

  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Captions from the detections"));
  button = gtk_button_new_with_mnemonic (_("_Suggest"));
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_sensitive (button, self->scorer != NULL);
  gtk_widget_set_name (button, "caption-suggest");
  if (self->scorer == NULL)
    gtk_widget_set_tooltip_text (button, self->scorer_problem ? self->scorer_problem : _("Reading the detections…"));
  g_signal_connect (button, "clicked", G_CALLBACK (suggest_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
  append_unselectable (self, row);
  for (guint i = 0; self->suggestions != NULL && i < self->suggestions->len; i++)
    {
      QrCaptionCandidate *c = &g_array_index (self->suggestions, QrCaptionCandidate, i);
      g_autofree char *subtitle = g_markup_printf_escaped ("%.2f · %s", c->score, c->explain ? c->explain : "");
      g_autofree char *title = g_markup_escape_text (c->text, -1);
      row = adw_action_row_new ();
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      button = gtk_button_new_with_label (_("Use"));
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      g_object_set_data_full (G_OBJECT (button), "caption-text", g_strdup (c->text), g_free);
      g_signal_connect (button, "clicked", G_CALLBACK (suggestion_used), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
      gtk_widget_add_css_class (row, "inspector-suggestion");
      append_unselectable (self, row);
    }
}

static void
canvas_changed (QrCanvas *canvas, QrInspector *self)
{
  GPtrArray *boxes = qr_canvas_get_overlays (canvas);
  int selected = qr_canvas_get_selected (canvas);
  GtkWidget *child;

  self->updating = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  add_review_items (self);
  add_captions (self);
  for (guint i = 0; boxes != NULL && i < boxes->len; i++)
    {
      QrOverlayBox *b = boxes->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = NULL, *votes = NULL, *subtitle = NULL;
      if (!qr_canvas_is_box_visible (canvas, i))
        continue;
      title = b->is_label ? g_markup_escape_text (b->class_name, -1)
                          : g_markup_printf_escaped ("%s  <small>%.2f</small>", b->class_name, b->score);
      votes = peer_votes (boxes, b);
      subtitle = b->is_label ? g_markup_printf_escaped (_("label · %s"), votes[0] ? votes : _("no model boxes"))
                             : g_markup_printf_escaped (_("%s's box · %s"), b->source, votes[0] ? votes : _("no other model"));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
      g_object_set_data (G_OBJECT (row), "overlay-index", GINT_TO_POINTER ((int) i));
      gtk_widget_add_css_class (row, b->is_label ? "inspector-label" : "inspector-model");
      gtk_list_box_append (self->list, row);
      if ((int) i == selected)
        gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (row));
    }
  if (gtk_widget_get_first_child (GTK_WIDGET (self->list)) == NULL)
    {
      GtkWidget *empty = gtk_label_new (_("No boxes on this image: draw one with B, or detect with Ctrl+R"));
      gtk_label_set_wrap (GTK_LABEL (empty), TRUE);
      gtk_widget_add_css_class (empty, "dim-label");
      gtk_widget_set_margin_top (empty, 24);
      gtk_widget_set_margin_start (empty, 12);
      gtk_widget_set_margin_end (empty, 12);
      gtk_list_box_append (self->list, empty);
      gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (gtk_widget_get_parent (empty)), FALSE);
    }
  self->updating = FALSE;
}

static void
canvas_selection_changed (QrCanvas *canvas, QrInspector *self)
{
  int selected = qr_canvas_get_selected (canvas);
  self->updating = TRUE;
  gtk_list_box_unselect_all (self->list);
  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (self->list)); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    if (ADW_IS_ACTION_ROW (c) && GPOINTER_TO_INT (g_object_get_data (G_OBJECT (c), "overlay-index")) == selected)
      gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (c));
  self->updating = FALSE;
}

static void
row_selected (GtkListBox *box, GtkListBoxRow *row, QrInspector *self)
{
  if (self->updating || row == NULL || !ADW_IS_ACTION_ROW (row))
    return;
  if (g_object_get_data (G_OBJECT (row), "mistake-index") != NULL)
    {
      select_review_item (self, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "mistake-index")) - 1);
      return;
    }
  qr_canvas_select (self->canvas, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "overlay-index")));
}

void
qr_inspector_set_canvas (QrInspector *self, QrCanvas *canvas)
{
  self->canvas = canvas;
  g_signal_connect_object (canvas, "changed", G_CALLBACK (canvas_changed), self, 0);
  g_signal_connect_object (canvas, "selection-changed", G_CALLBACK (canvas_selection_changed), self, 0);
}

void
qr_inspector_set_image (QrInspector *self, QrCatalog *catalog, gint64 image_id)
{
  self->catalog = catalog;
  self->image_id = image_id;
  self->review_selected = -1;
  g_clear_pointer (&self->suggestions, g_array_unref);
}

void
qr_inspector_set_history (QrInspector *self, QrHistory *history)
{
  self->history = history;
}

void
qr_inspector_set_scorer (QrInspector *self, QrScorer *scorer, const char *problem)
{
  g_set_object (&self->scorer, scorer);
  g_free (self->scorer_problem);
  self->scorer_problem = g_strdup (problem);
  refresh (self);
}

const QrMistakeRecord *
qr_inspector_get_review_item (QrInspector *self)
{
  int index = self->review_selected >= 0 ? self->review_selected : 0;

  if (self->review_items == NULL || (guint) index >= self->review_items->len)
    return NULL;
  return self->review_items->pdata[index];
}

void
qr_inspector_forget_review_item (QrInspector *self)
{
  self->review_selected = -1;
}

static void
qr_inspector_dispose (GObject *object)
{
  QrInspector *self = QR_INSPECTOR (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), QR_TYPE_INSPECTOR);
  /* the template's top child has no id: it goes with the widget */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_pointer (&self->review_items, g_ptr_array_unref);
  g_clear_pointer (&self->suggestions, g_array_unref);
  g_clear_pointer (&self->scorer_problem, g_free);
  g_clear_object (&self->scorer);
  G_OBJECT_CLASS (qr_inspector_parent_class)->dispose (object);
}

static void
qr_inspector_class_init (QrInspectorClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = qr_inspector_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quorum/Quorum/ui/qr-inspector.ui");
  gtk_widget_class_bind_template_child (widget_class, QrInspector, list);
  gtk_widget_class_bind_template_callback (widget_class, row_selected);
}

static void
qr_inspector_init (QrInspector *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->review_selected = -1;
}
