// The console's tones, made with WebAudio (no files): the ring of a call waiting for
// this operator, and the quiet ringback they hear while their call-back rings a kiosk.

const RING = {
  // [frequency Hz, start s, length s] within one cycle: a calm repeating two-tone
  pattern: [
    [660, 0.0, 0.35],
    [880, 0.45, 0.35],
    [660, 0.9, 0.35],
    [880, 1.35, 0.35],
  ],
  cycle: 3.2,
  volume: 0.18,
};
// The ringback as Chinese telephones play it, 450 Hz for one second in five; kept
// quiet, since the operator only waits on it.
const RINGBACK = { pattern: [[450, 0.0, 1.0]], cycle: 5.0, volume: 0.05 };

/** One repeating pattern on the shared audio context. */
class Tone {
  constructor(ringer, { pattern, cycle, volume }) {
    this.ringer = ringer;
    this.pattern = pattern;
    this.cycleS = cycle;
    this.volume = volume;
    this.timer = null;
    this.nodes = [];
  }

  get playing() {
    return this.timer !== null;
  }

  start() {
    if (this.playing) return;
    const ctx = this.ringer.unlock();
    this.timer = setInterval(() => this.cycle(), this.cycleS * 1000);
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
    const ctx = this.ringer.ctx;
    if (!ctx || ctx.state === "closed") return;
    const t0 = ctx.currentTime + 0.05;
    this.nodes = this.nodes.filter((n) => n.endsAt > ctx.currentTime);
    for (const [freq, start, len] of this.pattern) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      // soft attack and release so the tone does not click
      const a = t0 + start;
      gain.gain.setValueAtTime(0, a);
      gain.gain.linearRampToValueAtTime(this.volume, a + 0.03);
      gain.gain.setValueAtTime(this.volume, a + len - 0.06);
      gain.gain.linearRampToValueAtTime(0, a + len);
      osc.connect(gain).connect(ctx.destination);
      osc.start(a);
      osc.stop(a + len + 0.01);
      osc.endsAt = a + len + 0.01;
      this.nodes.push(osc);
    }
  }
}

export class Ringer {
  constructor() {
    this.ctx = null;
    this.ring = new Tone(this, RING);
    this.back = new Tone(this, RINGBACK);
  }

  /** Whether a call rings this operator. */
  get playing() {
    return this.ring.playing;
  }

  /** Whether the ringback sounds. */
  get ringingBack() {
    return this.back.playing;
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
    this.ring.start();
  }

  stop() {
    this.ring.stop();
  }

  /** Sound the ringback (true) or stop it (false); returns whether it sounds. */
  ringback(on) {
    if (on) this.back.start();
    else this.back.stop();
    return this.back.playing;
  }

  /** Both tones off (signing out). */
  silence() {
    this.ring.stop();
    this.back.stop();
  }
}
