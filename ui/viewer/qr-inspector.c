/* qr-inspector.c: see qr-inspector.h. The list is rebuilt whenever the canvas's boxes change,
 * and follows its selection without being rebuilt. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-inspector.h"

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
  gint64      image_id;

  /* Owned references */
  GPtrArray  *review_items;   /* the image's open review items (QrMistakeRecord) */
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
  return _("Model mistake");
}

static GtkWidget *
vote_bars (const char *votes_json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  JsonObject *votes;
  g_autoptr (GList) members = NULL;

  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  if (!json_parser_load_from_data (parser, votes_json, -1, NULL) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return box;
  votes = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (votes);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (votes, l->data);
      GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
      g_autofree char *tip = NULL;
      gtk_widget_set_size_request (bar, 64, 4);
      if (JSON_NODE_HOLDS_NULL (node))
        {
          tip = g_strdup_printf (_("%s has no such class"), (const char *) l->data);
          gtk_widget_set_opacity (bar, 0.3);
        }
      else
        {
          gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), json_node_get_double (node));
          tip = g_strdup_printf ("%s %.2f", (const char *) l->data, json_node_get_double (node));
        }
      gtk_widget_set_tooltip_text (bar, tip);
      gtk_box_append (GTK_BOX (box), bar);
    }
  return box;
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
      if (m->label_class_name != NULL && g_strcmp0 (m->label_class_name, m->class_name) != 0)
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
  qr_canvas_set_highlight (self->canvas, &m->box);
  qr_canvas_zoom_to_box (self->canvas, &m->box);
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
