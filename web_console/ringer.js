// The ring tone: a calm repeating two-tone pattern made with WebAudio (no files).

const PATTERN = [
  // [frequency Hz, start s, length s] within one cycle
  [660, 0.0, 0.35],
  [880, 0.45, 0.35],
  [660, 0.9, 0.35],
  [880, 1.35, 0.35],
];
const CYCLE_S = 3.2;
const VOLUME = 0.18;

export class Ringer {
  constructor() {
    this.ctx = null;
    this.timer = null;
    this.nodes = [];
  }

  get playing() {
    return this.timer !== null;
  }

  /** Create or resume the audio context; call from a click so later rings may sound. */
  unlock() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!this.ctx) this.ctx = new Ctx();
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
    return this.ctx;
  }

  start() {
    if (this.playing) return;
    const ctx = this.unlock();
    this.timer = setInterval(() => this.cycle(), CYCLE_S * 1000);
    if (ctx) this.cycle();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    for (const osc of this.nodes) {
      try {
        osc.stop();
      } catch {
        // already stopped
      }
    }
    this.nodes = [];
  }

  cycle() {
    const ctx = this.ctx;
    if (!ctx || ctx.state === "closed") return;
    const t0 = ctx.currentTime + 0.05;
    this.nodes = this.nodes.filter((n) => n.endsAt > ctx.currentTime);
    for (const [freq, start, len] of PATTERN) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      // soft attack and release so the tone does not click
      const a = t0 + start;
      gain.gain.setValueAtTime(0, a);
      gain.gain.linearRampToValueAtTime(VOLUME, a + 0.03);
      gain.gain.setValueAtTime(VOLUME, a + len - 0.06);
      gain.gain.linearRampToValueAtTime(0, a + len);
      osc.connect(gain).connect(ctx.destination);
      osc.start(a);
      osc.stop(a + len + 0.01);
      osc.endsAt = a + len + 0.01;
      this.nodes.push(osc);
    }
  }
}
