// RenderChartSvg: a hand-written SVG line chart (no scripts, no external resources), so the
// file opens in any browser and diffs as text.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tandem/cost/format.h"
#include "tandem/cost/report.h"

namespace tandem::cost {
namespace {

constexpr double kWidth = 900;
constexpr double kHeight = 540;
constexpr double kLeft = 80;
constexpr double kRight = 320;  // Room for the legend.
constexpr double kTop = 50;
constexpr double kBottom = 60;
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr double kPlotH = kHeight - kTop - kBottom;

constexpr const char* kColours[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                    "#66a61e", "#e6ab02", "#a6761d", "#666666"};

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// 1, 2 or 5 times a power of ten, at least `raw`.
double NiceStep(double raw) {
  double magnitude = std::pow(10, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    if (factor * magnitude >= raw) return factor * magnitude;
  }
  return 10 * magnitude;
}

// Whole dollars unless the step is below a dollar.
std::string AxisUsd(double usd, double step) {
  return step >= 1 ? fmt::format("${:.0f}", usd) : fmt::format("${:.2f}", usd);
}

std::string Shorten(std::string text, size_t width) {
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

struct Scale {
  double y_max;
  double X(double hours) const { return kLeft + hours / 24 * kPlotW; }
  double Y(double usd) const { return kTop + kPlotH - std::clamp(usd / y_max, 0.0, 1.05) * kPlotH; }
};

std::string Axes(const Scale& scale, double step) {
  std::string out;
  for (double usd = 0; usd <= scale.y_max + step / 2; usd += step) {
    double y = scale.Y(usd);
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e0e0e0\"/>\n"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"12\">{}</text>\n",
        kLeft, y, kLeft + kPlotW, y, kLeft - 8, y + 4, Escape(AxisUsd(usd, step)));
  }
  for (int hours = 0; hours <= 24; hours += 2) {
    double x = scale.X(hours);
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999\"/>\n"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"12\">{}</text>\n",
        x, kTop + kPlotH, x, kTop + kPlotH + 5, x, kTop + kPlotH + 20, hours);
  }
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n"
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"13\">hours per day "
      "</text>\n"
      "<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\" "
      "font-size=\"13\">USD per month</text>\n",
      kLeft, kTop, kPlotW, kPlotH, kLeft + kPlotW / 2, kHeight - 18, kTop + kPlotH / 2);
  return out;
}

}  // namespace

std::string RenderChartSvg(const Plan& plan) {
  double top = 0;
  for (const Option& option : plan.options) {
    top = std::max({top, option.vs_hours.At(0), option.vs_hours.At(24)});
  }
  double step = NiceStep(std::max(top, 1.0) / 6);
  Scale scale{.y_max = std::ceil(std::max(top, 1.0) / step) * step};
  const Workload& w = plan.workload;
  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, Arial, sans-serif\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"26\" font-size=\"16\" font-weight=\"bold\">Monthly cost against hours "
      "per day at {3} tokens/month (model {4})</text>\n",
      kWidth, kHeight, kLeft, Escape(FormatTokens(w.tokens_per_month)), Escape(w.model_size));
  out += Axes(scale, step);
  double now_x = scale.X(w.hours_per_day);
  out += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#333\" "
      "stroke-dasharray=\"4 4\"/>\n<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\" "
      "font-size=\"11\">workload: {4} h/day</text>\n",
      now_x, kTop, kTop + kPlotH, kTop - 6, Escape(FormatNumber(w.hours_per_day)));
  double legend_y = kTop + 10 + 36 * static_cast<double>(plan.options.size() - 1);
  // Drawn last to first so the local line stays on top of the hybrid it often overlaps.
  for (size_t i = plan.options.size(); i-- > 0;) {
    const Option& option = plan.options[i];
    const char* colour = kColours[i % std::size(kColours)];
    bool dashed = !option.meets_workload || !option.privacy_ok;
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
        "stroke-width=\"2.5\"{}/>\n",
        scale.X(0), scale.Y(option.vs_hours.At(0)), scale.X(24), scale.Y(option.vs_hours.At(24)),
        colour, dashed ? " stroke-dasharray=\"8 4\"" : "");
    double legend_x = kLeft + kPlotW + 20;
    out += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
        "stroke-width=\"2.5\"{4}/>\n<text x=\"{5:.1f}\" y=\"{6:.1f}\" font-size=\"12\">{7}</text>\n"
        "<text x=\"{5:.1f}\" y=\"{8:.1f}\" font-size=\"10\" fill=\"#555\">{9}</text>\n",
        legend_x, legend_y, legend_x + 24, colour, dashed ? " stroke-dasharray=\"8 4\"" : "",
        legend_x + 30, legend_y + 4, Escape(Shorten(option.name, 38)), legend_y + 17,
        Escape(fmt::format("{}{}: {}/month", OptionKindName(option.kind),
                           dashed ? " (excluded)" : "", FormatUsd(option.monthly_usd))));
    legend_y -= 36;
  }
  const Option& local = plan.options.front();
  int marks = 0;
  for (const BreakEven& be : plan.break_evens) {
    if (!be.hours_per_day.at) continue;
    // Alternate labels above and below the line so neighbouring marks stay readable.
    double label_dy = marks++ % 2 == 0 ? -10 : 20;
    double x = scale.X(*be.hours_per_day.at);
    double y = scale.Y(local.vs_hours.At(*be.hours_per_day.at));
    // Labels of marks near the right edge run leftwards so they stay inside the plot.
    bool right_edge = *be.hours_per_day.at > 16;
    std::string_view kind = be.kind == OptionKind::kCloudSpot       ? "spot"
                            : be.kind == OptionKind::kCloudOnDemand ? "on-demand"
                                                                    : "api";
    out += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"6\" fill=\"none\" stroke=\"#c00\" "
        "stroke-width=\"2\"/>\n<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" fill=\"#c00\" "
        "text-anchor=\"{}\">{} {}: {:.1f} h/day</text>\n",
        x, y, right_edge ? x - 4 : x + 4, y + label_dy, right_edge ? "end" : "start", kind,
        Escape(be.name), *be.hours_per_day.at);
  }
  out += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#555\">Catalog as of {}. Circles: "
      "break-even "
      "of local. Dashed: cannot carry the workload or would send sensitive work out of the local "
      "zone.</text>\n</svg>\n",
      kLeft, kHeight - 4, Escape(plan.catalog_as_of));
  return out;
}

}  // namespace tandem::cost
