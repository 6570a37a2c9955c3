/* zeroshot.c: a parsed text scored against the objects the peers agree on (qr-text.h), and caption
 * candidates made from those objects. Word detection (Fang et al. 2015) run backwards: the detectors
 * are the word detectors, peer pressure's consensus strength is how sure they are.
 *
 * A mention of class c scores w · conf(c) · f, conf(c) the strongest consensus of a c object, w the
 * lexicon's weight, f the count's agreement: 1 when no count is said; for a number k (the mentions
 * of c in the text summed, "a" counting one once a number is said) and n present objects of c,
 * 1 / (1 + |n − k|); for a plural without a number, 1 when n ≥ 2, else 0.6. A negated mention ("no
 * dogs") scores 1 − w · conf(c). A phrase naming several classes ("an animal") scores its best
 * class. The text's score is the mean over its phrases, minus λ times the salience of the most
 * salient present object of a class it does not mention (salience: consensus × min(1, √(area/5%)));
 * λ = 0.5 for captions, 0.1 for search, where it only breaks ties. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-text.h"

#include <math.h>
#include <string.h>

#define OMISSION_CAPTION 0.5
#define OMISSION_QUERY   0.1

float
qr_text_confidence (const QrEvidenceObject *objects, guint n, const char *class_name)
{
  float best = 0;
  for (guint i = 0; i < n; i++)
    if (g_str_equal (objects[i].class_name, class_name))
      best = MAX (best, objects[i].strength);
  return best;
}

int
qr_text_count_present (const QrEvidenceObject *objects, guint n, const char *class_name)
{
  int count = 0;
  for (guint i = 0; i < n; i++)
    count += objects[i].strength >= QR_TEXT_PRESENT && g_str_equal (objects[i].class_name, class_name);
  return count;
}

static float
salience (const QrEvidenceObject *o)
{
  return o->strength * MIN (1.0f, sqrtf (MAX (o->area, 0.0f) / 0.05f));
}

/* The count the text says for a class, summed over its phrases, or QR_COUNT_ANY when no phrase
 * says a number. */
static int
said_count (const QrTextQuery *query, const char *class_name)
{
  int total = 0;
  gboolean any_number = FALSE;
  for (guint i = 0; i < query->mentions->len; i++)
    {
      const QrMention *m = &g_array_index (query->mentions, QrMention, i);
      if (!g_str_equal (m->class_name, class_name) || m->count == 0)
        continue;
      if (m->count >= 1)
        any_number = TRUE, total += m->count;
      else
        total += 1;
    }
  return any_number ? total : QR_COUNT_ANY;
}

void
qr_text_score (const QrTextQuery *query, const QrEvidenceObject *objects, guint n_objects, QrTextMode mode,
               QrTextScore *out)
{
  g_autofree double *group_score = g_new0 (double, MAX (query->n_groups, 1));
  g_autofree int *group_best = g_new (int, MAX (query->n_groups, 1));
  double sum = 0;

  memset (out, 0, sizeof *out);
  out->explain = g_string_new (NULL);
  out->worst_group = -1;
  for (int g = 0; g < query->n_groups; g++)
    group_score[g] = -1, group_best[g] = -1;

  for (guint i = 0; i < query->mentions->len; i++)
    {
      const QrMention *m = &g_array_index (query->mentions, QrMention, i);
      float conf = qr_text_confidence (objects, n_objects, m->class_name);
      double s;
      if (m->count == 0)
        s = 1 - m->weight * conf;
      else
        {
          int present = qr_text_count_present (objects, n_objects, m->class_name);
          int said = said_count (query, m->class_name);
          double f = 1;
          if (said >= 1 && present >= 1)
            f = 1.0 / (1 + abs (present - said));
          else if (said == QR_COUNT_ANY && m->count == QR_COUNT_SEVERAL && present == 1)
            f = 0.6;
          s = m->weight * conf * f;
        }
      if (s > group_score[m->group])
        group_score[m->group] = s, group_best[m->group] = (int) i;
    }
  for (int g = 0; g < query->n_groups; g++)
    {
      const QrMention *m = &g_array_index (query->mentions, QrMention, group_best[g]);
      sum += group_score[g];
      g_string_append_printf (out->explain, "%s%s %.2f", g ? ", " : "", m->words, group_score[g]);
      if (!g_str_equal (m->words, m->class_name) && m->count != 0)
        g_string_append_printf (out->explain, " (%s: %d seen)", m->class_name,
                                qr_text_count_present (objects, n_objects, m->class_name));
      if (out->worst_group < 0 || group_score[g] < out->worst_score)
        out->worst_group = g, out->worst_score = group_score[g], out->worst_mention = group_best[g];
    }
  out->mentioned = query->n_groups > 0 ? sum / query->n_groups : 0;

  for (guint i = 0; i < n_objects; i++)
    {
      const QrEvidenceObject *o = &objects[i];
      gboolean mentioned = FALSE;
      float s;
      if (o->strength < QR_TEXT_PRESENT)
        continue;
      for (guint k = 0; k < query->mentions->len && !mentioned; k++)
        {
          const QrMention *m = &g_array_index (query->mentions, QrMention, k);
          mentioned = m->count != 0 && g_str_equal (m->class_name, o->class_name);
        }
      s = salience (o);
      if (!mentioned && s > out->omitted)
        {
          out->omitted = s;
          g_free (out->omitted_class);
          out->omitted_class = g_strdup (o->class_name);
        }
    }
  out->score = out->mentioned - (mode == QR_TEXT_CAPTION ? OMISSION_CAPTION : OMISSION_QUERY) * out->omitted;
  if (out->omitted_class != NULL)
    g_string_append_printf (out->explain, "%sleft out: %s %.2f", out->explain->len ? "; " : "", out->omitted_class,
                            out->omitted);
}

void
qr_text_score_clear (QrTextScore *score)
{
  if (score->explain != NULL)
    g_string_free (score->explain, TRUE);
  g_clear_pointer (&score->omitted_class, g_free);
  score->explain = NULL;
}

/* Suggestions */

typedef struct
{
  const char *class_name;
  int         count;
  float       salience;
  float       cx;        /* of its most salient object */
} ClassSummary;

static int
by_salience (gconstpointer a, gconstpointer b)
{
  const ClassSummary *x = a, *y = b;
  return x->salience < y->salience ? 1 : x->salience > y->salience ? -1 : g_strcmp0 (x->class_name, y->class_name);
}

static char *
plural_of (const char *noun)
{
  static const char *const irregular[][2] = { { "person", "people" }, { "mouse", "mice" }, { "knife", "knives" },
                                              { "sheep", "sheep" }, { "skis", "pairs of skis" },
                                              { "scissors", "pairs of scissors" } };
  gsize n = strlen (noun);

  for (guint i = 0; i < G_N_ELEMENTS (irregular); i++)
    if (g_str_equal (noun, irregular[i][0]))
      return g_strdup (irregular[i][1]);
  if (g_str_has_suffix (noun, "s") || g_str_has_suffix (noun, "x") || g_str_has_suffix (noun, "z")
      || g_str_has_suffix (noun, "ch") || g_str_has_suffix (noun, "sh"))
    return g_strconcat (noun, "es", NULL);
  if (n >= 2 && noun[n - 1] == 'y' && strchr ("aeiou", noun[n - 2]) == NULL)
    {
      g_autofree char *stem = g_strndup (noun, n - 1);
      return g_strconcat (stem, "ies", NULL);
    }
  return g_strconcat (noun, "s", NULL);
}

static void
append_phrase (GString *s, const ClassSummary *c, gboolean where)
{
  static const char *const numbers[] = { "no", "one", "two", "three", "four", "five", "six", "seven",
                                         "eight", "nine", "ten", "eleven", "twelve" };
  if (c->count == 1)
    {
      const char *noun = g_str_equal (c->class_name, "skis") ? "pair of skis"
                       : g_str_equal (c->class_name, "scissors") ? "pair of scissors" : c->class_name;
      g_string_append_printf (s, "%s %s", strchr ("aeiou", noun[0]) ? "an" : "a", noun);
      if (where)
        g_string_append (s, c->cx < 0.34f ? " on the left" : c->cx > 0.66f ? " on the right" : " in the middle");
    }
  else
    {
      g_autofree char *plural = plural_of (c->class_name);
      if (c->count < (int) G_N_ELEMENTS (numbers))
        g_string_append_printf (s, "%s %s", numbers[c->count], plural);
      else
        g_string_append_printf (s, "many %s", plural);
    }
}

static char *
sentence (const ClassSummary *classes, guint n, gboolean where)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (s, i + 1 == n ? " and " : ", ");
      append_phrase (s, &classes[i], where);
    }
  if (s->len > 0)
    s->str[0] = g_ascii_toupper (s->str[0]);
  return g_string_free (s, FALSE);
}

static void
add_unique (GPtrArray *out, char *text)
{
  for (guint i = 0; i < out->len; i++)
    if (g_str_equal (out->pdata[i], text))
      {
        g_free (text);
        return;
      }
  g_ptr_array_add (out, text);
}

GPtrArray *
qr_text_suggest (const QrEvidenceObject *objects, guint n_objects, guint max_candidates)
{
  g_autoptr (GArray) classes = g_array_new (FALSE, TRUE, sizeof (ClassSummary));
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  guint n;

  for (guint i = 0; i < n_objects; i++)
    {
      const QrEvidenceObject *o = &objects[i];
      ClassSummary *c = NULL;
      if (o->strength < QR_TEXT_PRESENT)
        continue;
      for (guint k = 0; k < classes->len && c == NULL; k++)
        if (g_str_equal (g_array_index (classes, ClassSummary, k).class_name, o->class_name))
          c = &g_array_index (classes, ClassSummary, k);
      if (c == NULL)
        {
          ClassSummary fresh = { o->class_name, 0, 0, o->cx };
          g_array_append_val (classes, fresh);
          c = &g_array_index (classes, ClassSummary, classes->len - 1);
        }
      c->count++;
      if (salience (o) > c->salience)
        c->salience = salience (o), c->cx = o->cx;
    }
  g_array_sort (classes, by_salience);
  n = MIN (classes->len, 4u);
  /* every class first (the caption that leaves nothing out), then fewer, with and without places */
  for (guint k = n; k >= 1 && out->len < max_candidates; k--)
    {
      add_unique (out, sentence ((ClassSummary *) (gpointer) classes->data, k, k <= 2));
      if (out->len < max_candidates)
        add_unique (out, sentence ((ClassSummary *) (gpointer) classes->data, k, FALSE));
    }
  /* pairs that skip a class, for the ranker to weigh */
  for (guint a = 0; a < n && out->len < max_candidates; a++)
    for (guint b = a + 2; b < n && out->len < max_candidates; b++)
      {
        ClassSummary pair[2] = { g_array_index (classes, ClassSummary, a), g_array_index (classes, ClassSummary, b) };
        add_unique (out, sentence (pair, 2, TRUE));
      }
  return out;
}
