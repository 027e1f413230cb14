// report.html: one self-contained page (styles, data, vega builds and its script inline).

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "eval/report_parts.hpp"

namespace georank::report {
namespace {

using nlohmann::json;

std::string esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// JSON inside a <script> element: "</" cannot close it when written "<\/".
std::string script_json(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') out += '\\';
  }
  return out;
}

// A script's text inline; "</script" inside it would end the element early.
std::string script_text(const std::string& js) {
  std::string out;
  std::size_t from = 0;
  for (std::size_t at; (at = js.find("</script", from)) != std::string::npos; from = at + 2)
    out += js.substr(from, at - from) + "<\\/";
  return out + js.substr(from);
}

std::string pct(const json& v) {
  return v.is_number() ? fmt::format("{:.1f}", 100 * v.get<double>()) : "n/a";
}
std::string signed_pct(const json& v) {
  return v.is_number() ? fmt::format("{:+.1f}", 100 * v.get<double>()) : "n/a";
}
std::string num(const json& v, const char* f = "{:.3g}") {
  return v.is_number() ? fmt::format(fmt::runtime(f), v.get<double>()) : "n/a";
}
std::string pvalue(const json& v) {
  if (!v.is_number()) return "n/a";
  const double p = v.get<double>();
  return p < 0.001 ? fmt::format("{:.1e}", p) : fmt::format("{:.3f}", p);
}

std::string strategy_table(const json& report) {
  std::string h = "<table><thead><tr><th>name</th><th>strategy</th><th>k</th>";
  for (int k : report["ks"]) h += fmt::format("<th>R@{}</th>", k);
  for (int k : report["ks"]) h += fmt::format("<th>&Delta;R@{} [95% CI]</th>", k);
  h += "<th>McNemar p</th><th>Holm p</th><th>fixed</th><th>broken</th><th>oracle R@1</th>"
       "<th>judgments / query</th><th>unparsed</th></tr></thead><tbody>";
  h += "<tr><td>baseline</td><td>retrieval</td><td></td>";
  for (int k : report["ks"]) h += "<td>" + pct(report["baseline"]["recall"][std::to_string(k)]) + "</td>";
  h += fmt::format("<td colspan=\"{}\"></td><td>0</td><td></td></tr>", report["ks"].size() + 5);
  for (const auto& n : report["strategy_order"]) {
    const json& s = report["strategies"][n.get<std::string>()];
    std::string strategy = s["strategy"];
    if (s.contains("aggregate"))
      strategy += " / " + s["aggregate"].get<std::string>() + " / " + s["orders"].get<std::string>();
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td>", esc(n), esc(strategy), s["k"].get<int>());
    for (int k : report["ks"]) h += "<td>" + pct(s["recall"][std::to_string(k)]) + "</td>";
    for (int k : report["ks"]) {
      const std::string d = "delta_r" + std::to_string(k);
      h += fmt::format("<td>{} [{}, {}]</td>", signed_pct(s[d]), signed_pct(s[d + "_ci95"][0]),
                       signed_pct(s[d + "_ci95"][1]));
    }
    const bool significant = s["mcnemar_p_holm"].get<double>() < 0.05;
    h += fmt::format("<td>{}</td><td{}>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                     pvalue(s["mcnemar_p"]), significant ? " class=\"significant\"" : "",
                     pvalue(s["mcnemar_p_holm"]), s["fixed"].get<std::int64_t>(),
                     s["broken"].get<std::int64_t>(), pct(s["oracle_r1"]),
                     num(s["judgments_per_query"], "{:.1f}"), s["unparsed"].get<std::int64_t>());
  }
  return h + "</tbody></table>";
}

std::string oracle_table(const json& report) {
  std::vector<int> ks;  // JSON keys sort as text; the table reads in numeric order
  for (const auto& [k, v] : report["oracle"]["recall"].items()) ks.push_back(std::stoi(k));
  std::sort(ks.begin(), ks.end());
  std::string h = "<table><thead><tr>";
  for (int k : ks) h += fmt::format("<th>R@{}</th>", k);
  h += "</tr></thead><tbody><tr>";
  for (int k : ks) h += "<td>" + pct(report["oracle"]["recall"][std::to_string(k)]) + "</td>";
  return h + "</tr></tbody></table>";
}

std::string city_table(const json& report) {
  std::string h = "<table><thead><tr><th>city</th><th>queries</th><th>baseline R@1</th>";
  for (const auto& n : report["strategy_order"]) h += "<th>" + esc(n) + " R@1 (&Delta;)</th>";
  h += "</tr></thead><tbody>";
  for (const auto& [city, c] : report["cities"].items()) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td>", esc(city), c["n"].get<int>(),
                     pct(c["baseline_r1"]));
    for (const auto& n : report["strategy_order"]) {
      const json& sc = report["strategies"][n.get<std::string>()]["cities"][city];
      h += fmt::format("<td>{} ({})</td>", pct(sc["r1"]), signed_pct(sc["delta_r1"]));
    }
    h += "</tr>";
  }
  return h + "</tbody></table>";
}

std::string diagnostics_tables(const json& report) {
  std::string point =
      "<table><thead><tr><th>name</th><th>AUROC</th><th>ECE</th><th>mean score, positive</th>"
      "<th>mean score, other</th><th>mean covered mass</th><th>unparsed</th></tr></thead><tbody>";
  std::string pair =
      "<table><thead><tr><th>name</th><th>position flip rate</th><th>pairs in both orders</th>"
      "<th>mean P(first)</th><th>intransitive triads</th><th>triads</th>"
      "<th>mean covered mass</th><th>unparsed</th></tr></thead><tbody>";
  bool any_point = false, any_pair = false;
  const auto mean_of = [](const json& stats) { return stats.is_object() ? stats["mean"] : json(); };
  for (const auto& n : report["strategy_order"]) {
    const json& s = report["strategies"][n.get<std::string>()];
    if (!s.contains("diagnostics")) continue;
    const json& d = s["diagnostics"];
    if (d["kind"] == "pointwise") {
      any_point = true;
      point += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", esc(n),
          num(d["auroc"]), num(d.value("expected_calibration_error", json())),
          num(mean_of(d["score_positive"])), num(mean_of(d["score_other"])), num(mean_of(d["covered_mass"])),
          d["unparsed"].get<std::int64_t>());
    } else {
      any_pair = true;
      pair += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
          esc(n), num(d["position_flip_rate"]), d["pairs_both_orders"].get<std::int64_t>(),
          num(d["mean_p_first"]), num(d["intransitivity"]), d["triads"].get<std::int64_t>(),
          num(mean_of(d["covered_mass"])), d["unparsed"].get<std::int64_t>());
    }
  }
  std::string h;
  if (any_point) h += "<h3>Pointwise</h3>" + point + "</tbody></table>";
  if (any_pair) h += "<h3>Pairwise</h3>" + pair + "</tbody></table>";
  return h.empty() ? "<p>No pointwise or pairwise strategy in this run.</p>" : h;
}

std::string configs(const json& report) {
  std::string h;
  for (const auto& n : report["strategy_order"]) {
    const json& s = report["strategies"][n.get<std::string>()];
    const json& prompt = s["prompt"];
    h += "<details><summary>" + esc(n) + "</summary>";
    if (prompt.is_object())
      h += fmt::format("<p>prompt <b>{}</b> ({}), SHA-256 <code>{}</code></p><pre>{}</pre>",
                       esc(prompt.value("name", "")), esc(prompt.value("source", "")),
                       esc(prompt.value("sha256", "")), esc(prompt.value("text", "")));
    h += "<p>judge (" + esc(s.value("judge_kind", "")) + ")</p><pre>" + esc(s["judge"].dump(2)) + "</pre>";
    h += "<p>settings</p><pre>" + esc(s["config"].dump(2)) + "</pre></details>";
  }
  return h;
}

constexpr const char* kStyle = R"css(
body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:0 2rem 4rem;color:#222;max-width:1400px}
h1{font-size:1.5rem}h2{margin-top:2.5rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th:first-child,td:first-child{text-align:left}thead{background:#f4f4f4}.significant{font-weight:bold;color:#1a7f37}
.banner{background:#b00020;color:#fff;padding:.6rem 1rem;font-weight:bold;position:sticky;top:0;z-index:5}
.banner div{margin:.15rem 0}.note{background:#fff7d6;border:1px solid #e6c200;padding:.5rem}
figure{margin:1.5rem 0}figcaption{font-size:.85rem;color:#555;max-width:60rem}
pre{background:#f7f7f7;padding:.5rem;overflow:auto;max-height:24rem;font-size:.8rem;white-space:pre-wrap}
#query-list{columns:14rem;font-size:.85rem;padding-left:1rem}#drilldown{border:1px solid #ccc;padding:1rem;margin-top:1rem}
.cands{display:flex;flex-wrap:wrap;gap:6px}.candidate{border:3px solid transparent;padding:2px;font-size:.75rem;width:110px}
.candidate.positive{border-color:#2a9d3f}.candidate.semi{border-color:#e6a700}.candidate img{width:100%}
.judgment td{font-size:.75rem}.unparsed{color:#b00020}.text{max-width:40rem;text-align:left;white-space:pre-wrap}
)css";

constexpr const char* kScript = R"js(
(function () {
  const data = (id) => JSON.parse(document.getElementById(id).textContent);
  const figures = data('georank-figures');
  const body = document.body;
  if (typeof vegaEmbed === 'undefined') {
    body.dataset.figuresRendered = 'error: vega-embed is not in this page (install the web/ packages: scripts/setup)';
    document.querySelectorAll('.vega-figure').forEach((el) => {
      el.textContent = 'This figure needs vega-embed, which was not installed when the report was written; see the SVG/PNG files or figures/' + el.dataset.figure + '.vl.json.';
    });
  } else {
    Promise.all(figures.map((f) => vegaEmbed(document.querySelector('.vega-figure[data-figure="' + f.name + '"]'),
                                            f.spec, {renderer: 'svg', actions: false})))
      .then(() => { body.dataset.figuresRendered = String(figures.length); })
      .catch((e) => { body.dataset.figuresRendered = 'error: ' + e; });
  }

  const queries = data('georank-queries');
  const thumbs = data('georank-thumbs');
  const strategySel = document.getElementById('dd-strategy');
  const filterSel = document.getElementById('dd-filter');
  const list = document.getElementById('query-list');
  const dd = document.getElementById('drilldown');
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
    }
    for (const k of kids) e.append(k);
    return e;
  };
  const fmt = (v, d = 3) => (typeof v === 'number' ? v.toFixed(d) : (v === null || v === undefined ? 'n/a' : String(v)));
  const img = (key) => (thumbs[key] ? el('img', {src: thumbs[key], alt: key}) : el('span', {}, '(no image)'));

  function candidateBox(c, extra) {
    const cls = 'candidate' + (c.positive ? ' positive' : '') + (c.semi_positive ? ' semi' : '');
    return el('div', {class: cls, title: c.tile}, img('t:' + c.tile), el('div', {}, extra), el('div', {}, c.tile));
  }

  function judgments(per, byTile) {
    const t = el('table', {});
    const seen = new Set();
    const head = (cols) => t.append(el('tr', {}, ...cols.map((c) => el('th', {}, c))));
    let headed = false;
    for (const r of per.ranked) {
      const e = r.evidence || {};
      if (e.comparisons) {
        if (!headed) { head(['first', 'second', 'P(first)', 'covered mass', 'parsed']); headed = true; }
        for (const c of e.comparisons) {
          const key = c.first + '|' + c.second;
          if (seen.has(key)) continue;
          seen.add(key);
          t.append(el('tr', {class: 'judgment' + (c.parsed ? '' : ' unparsed')},
                      el('td', {}, '#' + (c.first_baseline_rank + 1) + ' ' + c.first),
                      el('td', {}, '#' + (c.second_baseline_rank + 1) + ' ' + c.second),
                      el('td', {}, fmt(c.p_first)), el('td', {}, fmt(c.covered_mass)), el('td', {}, String(c.parsed))));
        }
      } else if (e.windows) {
        if (!headed) { head(['window', 'labels', 'probabilities', 'covered mass', 'parsed']); headed = true; }
        for (const w of e.windows) {
          const key = w.start + '|' + w.labels.join(',');
          if (seen.has(key)) continue;
          seen.add(key);
          t.append(el('tr', {class: 'judgment' + (w.parsed ? '' : ' unparsed')}, el('td', {}, String(w.start)),
                      el('td', {}, w.labels.join(', ')), el('td', {}, w.probs.map((p) => fmt(p, 2)).join(' ')),
                      el('td', {}, fmt(w.covered_mass)), el('td', {}, String(w.parsed))));
        }
      } else {
        if (!headed) { head(['candidate', 'score', 'normalised', 'probabilities', 'covered mass', 'parsed', 'text']); headed = true; }
        t.append(el('tr', {class: 'judgment' + (e.parsed === false ? ' unparsed' : '')},
                    el('td', {}, '#' + (r.baseline_rank + 1) + ' ' + r.tile), el('td', {}, fmt(e.score)),
                    el('td', {}, fmt(e.normalized)),
                    el('td', {}, (e.probs || []).map((p) => fmt(p, 2)).join(' ')), el('td', {}, fmt(e.covered_mass)),
                    el('td', {}, String(e.parsed !== false)), el('td', {class: 'text'}, e.text || '')));
      }
    }
    return t;
  }

  function show(q) {
    const name = strategySel.value;
    const per = q.strategies[name];
    dd.replaceChildren();
    dd.dataset.query = q.id;
    dd.hidden = false;
    const byTile = Object.fromEntries(q.candidates.map((c) => [c.tile, c]));
    dd.append(el('h3', {}, q.id + (q.city ? ' (' + q.city + ')' : '')), img('q:' + q.id),
              el('p', {}, 'Strategy ' + name + ': ' + per.category +
                 (q.positive_rank === null ? '; the positive is not in the list' : '; baseline rank of the positive: ' + (q.positive_rank + 1))),
              el('h4', {}, 'Baseline order (retrieval)'),
              el('div', {class: 'cands'}, ...q.candidates.map((c, i) => candidateBox(c, '#' + (i + 1) + ' score ' + fmt(c.score)))),
              el('h4', {}, 'Reranked by ' + name),
              el('div', {class: 'cands'}, ...per.ranked.map((r, i) => candidateBox(byTile[r.tile] || {tile: r.tile},
                 '#' + (i + 1) + ' (was #' + (r.baseline_rank + 1) + ') ' + fmt(r.evidence && r.evidence.rerank_score)))),
              el('h4', {}, 'Judgments'), judgments(per, byTile));
    dd.scrollIntoView();
  }

  function refresh() {
    const name = strategySel.value;
    const f = filterSel.value;
    list.replaceChildren();
    for (const q of queries) {
      const per = q.strategies[name];
      if (!per) continue;
      if (f === 'unparsed' ? !per.unparsed : f !== 'all' && per.category !== f) continue;
      const a = el('a', {href: '#drilldown', class: 'query-link', 'data-query': q.id}, q.id);
      a.addEventListener('click', (ev) => { ev.preventDefault(); show(q); });
      list.append(el('li', {class: per.category}, a, ' ' + per.category));
    }
  }
  if (strategySel) {
    strategySel.addEventListener('change', refresh);
    filterSel.addEventListener('change', refresh);
    refresh();
  }
})();
)js";

}  // namespace

std::string render_html(const json& report, const std::vector<Figure>& figures, const json& queries,
                        const Thumbnails& thumbs, const std::string& vega_js,
                        const std::string& static_note) {
  std::string h = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  h += "<title>georank report: " + esc(report["run_dir"]) + "</title><style>" + kStyle +
       "</style></head><body>";
  if (!report["caveats"].empty()) {
    h += "<div class=\"banner\" id=\"caveats\">";
    for (const auto& c : report["caveats"]) h += "<div>" + esc(c) + "</div>";
    h += "</div>";
  }
  h += "<h1>georank report</h1><p>Run <code>" + esc(report["run_dir"]) +
       "</code>: " + std::to_string(report["n_queries"].get<int>()) + " queries, gallery of " +
       std::to_string(report["gallery_size"].get<int>()) + " tiles. Every setting: <code>" +
       esc(report.value("resolved_config", "")) + "</code>.</p>";
  const json& st = report["statistics"];
  h += fmt::format(
      "<h2 id=\"results\">Results against the baseline</h2><p>&Delta; columns: paired bootstrap, {} "
      "resamples "
      "(seed {}), {:.0f}% percentile intervals. McNemar: exact two-sided test on the queries whose top-1 "
      "correctness differs (fixed vs broken); Holm: adjusted over the {} strategies below (bold: &lt; 0.05). "
      "Oracle R@1: the share of queries whose positive is within the reranked top-k, the most a reranker can "
      "reach.</p>",
      st["bootstrap_resamples"].get<int>(), st["seed"].get<std::uint64_t>(), 100 * st["level"].get<double>(),
      report["strategy_order"].size());
  h += strategy_table(report);
  h += "<h3>Oracle ceiling: R@K of the candidate lists</h3>" + oracle_table(report);
  h += "<h3>Per city (R@1)</h3>" + city_table(report);
  h += "<h2 id=\"diagnostics\">Judge diagnostics</h2>" + diagnostics_tables(report);
  h += "<h2 id=\"figures\">Figures</h2>";
  if (!static_note.empty()) h += "<p class=\"note\">" + esc(static_note) + "</p>";
  json specs = json::array();
  for (const Figure& f : figures) {
    h += fmt::format(
        "<figure><h3>{}</h3><div class=\"vega-figure\" data-figure=\"{}\" id=\"fig-{}\"></div><figcaption>{} "
        "Files: <code>figures/{}.svg</code>, <code>.png</code>, <code>.vl.json</code>.</figcaption></figure>",
        esc(f.title), esc(f.name), esc(f.name), esc(f.caption), esc(f.name));
    specs.push_back({{"name", f.name}, {"spec", f.spec}});
  }
  h += "<h2 id=\"configs\">Configurations, prompts and judges</h2>" + configs(report);
  h += "<h2 id=\"queries\">Queries</h2><p>Pick a strategy and a filter, then a query: its panorama, the "
       "candidates in baseline and reranked order (green: positive, amber: semi-positive) and every "
       "judgment.</p>";
  h += "<label>strategy <select id=\"dd-strategy\">";
  for (const auto& n : report["strategy_order"]) h += "<option>" + esc(n) + "</option>";
  h += "</select></label> <label>show <select id=\"dd-filter\"><option value=\"all\">all</option><option "
       "value=\"fixed\">fixed</option><option value=\"broken\">broken</option><option value=\"kept\">kept "
       "(both right)</option><option value=\"missed\">missed (both wrong)</option><option "
       "value=\"unparsed\">with unparsed answers</option></select></label>";
  h += "<ul id=\"query-list\"></ul><section id=\"drilldown\" hidden></section>";
  h += "<script type=\"application/json\" id=\"georank-figures\">" + script_json(specs) + "</script>";
  h += "<script type=\"application/json\" id=\"georank-queries\">" + script_json(queries) + "</script>";
  json thumbs_json = json::object();
  for (const auto& [k, v] : thumbs)
    if (!v.empty()) thumbs_json[k] = v;
  h += "<script type=\"application/json\" id=\"georank-thumbs\">" + script_json(thumbs_json) + "</script>";
  if (!vega_js.empty()) h += "<script>" + script_text(vega_js) + "</script>";
  h += std::string("<script>") + kScript + "</script></body></html>\n";
  return h;
}

}  // namespace georank::report
