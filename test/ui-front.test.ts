/** The web UI's pure parts, in Node: safe markdown, chart smoothing and alignment, formatting. */
import { describe, expect, it } from "vitest";
import { alignedData, downsample, smooth } from "../ui/src/chart-data.ts";
import { formatCell, formatDuration, formatNumber } from "../ui/src/format.ts";
import { renderMarkdown } from "../ui/src/markdown.ts";

describe("renderMarkdown", () => {
  it("renders headings, emphasis, code, lists and safe links", () => {
    const html = renderMarkdown(
      "# Title\n\nSome **bold** and *it* with `a<b`.\n\n- one\n- [two](https://x.org/?a=1&b=2)\n\n```\nx < y\n```",
    );
    expect(html).toBe(
      [
        "<h3>Title</h3>",
        "<p>Some <strong>bold</strong> and <em>it</em> with <code>a&lt;b</code>.</p>",
        '<ul><li>one</li><li><a href="https://x.org/?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">two</a></li></ul>',
        "<pre><code>x &lt; y</code></pre>",
      ].join("\n"),
    );
  });

  it.each([
    ["<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"],
    ['<img src=x onerror="alert(1)">', "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>"],
    ["[click](javascript:alert(1))", "<p>click)</p>"],
    [
      '[x](https://a.org/"onmouseover="alert(1))',
      '<p><a href="https://a.org/&quot;onmouseover=&quot;alert(1" rel="noopener noreferrer" target="_blank">x</a>)</p>',
    ],
  ])("never lets markup through: %s", (source, html) => {
    expect(renderMarkdown(source)).toBe(html);
  });
});

describe("chart data", () => {
  it("smooths with a de-biased moving average that starts at the first value", () => {
    expect(smooth([10, 10, 10], 0.9)).toEqual([10, 10, 10].map((v) => expect.closeTo(v, 10)));
    const s = smooth([0, 10, null, 10], 0.5) as number[];
    expect(s[0]).toBe(0);
    expect(s[1]).toBeCloseTo((10 * 0.5) / 0.75, 10);
    expect(s[2]).toBeNull();
    expect(smooth([1, 2], 0)).toEqual([1, 2]);
  });

  it("aligns runs on one x axis, leaves gaps, and drops what a log axis cannot show", () => {
    const histories = new Map([
      [
        "a",
        [
          { step: 0, time: 1000, value: 1 },
          { step: 2, time: 3000, value: 0 },
        ],
      ],
      ["b", [{ step: 1, time: 5000, value: 4 }]],
    ]);
    const [x, a, b] = alignedData(["a", "b"], histories, {
      axis: "step",
      log: false,
      smoothing: 0,
    });
    expect([...x]).toEqual([0, 1, 2]);
    expect(a).toEqual([1, null, 0]);
    expect(b).toEqual([null, 4, null]);
    const log = alignedData(["a", "b"], histories, { axis: "step", log: true, smoothing: 0 });
    expect(log[1]).toEqual([1, null, null]);
    const rel = alignedData(["a", "b"], histories, { axis: "rel", log: false, smoothing: 0 });
    expect([...rel[0]]).toEqual([0, 2]);
    const smoothed = alignedData(["a"], histories, { axis: "step", log: false, smoothing: 0.5 });
    expect(smoothed).toHaveLength(3); // x, raw, smoothed
  });
});

describe("downsample", () => {
  it("keeps first, last, and each bucket's lowest and highest point, so a spike survives", () => {
    const points = Array.from({ length: 100_000 }, (_, step) => ({
      step,
      time: step,
      value: step === 54_321 ? 99 : Math.sin(step),
    }));
    const kept = downsample(points, 1000);
    expect(kept.length).toBeLessThanOrEqual(1002);
    expect(kept[0]).toBe(points[0]);
    expect(kept[kept.length - 1]).toBe(points[99_999]);
    expect(kept.some((p) => p.value === 99)).toBe(true);
    expect(kept.every((p, i) => i === 0 || (kept[i - 1] as { step: number }).step < p.step)).toBe(
      true,
    );
    expect(Math.min(...kept.map((p) => p.value))).toBe(Math.min(...points.map((p) => p.value)));
  });

  it("leaves a short history as it is", () => {
    const points = [{ step: 0, time: 0, value: 1 }];
    expect(downsample(points, 10)).toBe(points);
  });
});

describe("formatting", () => {
  it("shows numbers, NaN and the infinities as a person reads them", () => {
    expect(formatNumber(0.1 + 0.2)).toBe("0.3");
    expect(formatNumber(1e-7)).toBe("1.0000e-7");
    expect(formatCell("NaN")).toBe("NaN");
    expect(formatCell("-Infinity")).toBe("-∞");
    expect(formatCell("abc")).toBe("abc");
    expect(formatDuration(90_000)).toBe("1m 30s");
  });
});
