// The media side of one call: the local camera and microphone, and the
// RTCPeerConnection that answers the kiosk's offer. The kiosk may rebuild its
// connection under the same call id, so every offer gets a fresh peer connection.

const yijian = (window.yijian = window.yijian || { pc: null, callId: null });

/** A browser RTCIceCandidate as the protocol's IceCandidate (no extra fields allowed). */
function candidateMessage(cand) {
  return { candidate: cand.candidate, sdpMid: cand.sdpMid, sdpMLineIndex: cand.sdpMLineIndex };
}

export class CallMedia {
  /**
   * @param send      function(msg) that sends a signalling message
   * @param onState   function(state) with "waiting" | "connecting" | "connected" | "failed"
   * @param onAutoplayBlocked function() called when the kiosk's sound needs a click
   */
  constructor({ send, onState, onAutoplayBlocked, remoteVideo, localVideo }) {
    this.send = send;
    this.onState = onState;
    this.onAutoplayBlocked = onAutoplayBlocked;
    this.remoteVideo = remoteVideo;
    this.localVideo = localVideo;
    this.iceServers = [];
    this.callId = null;
    this.pc = null;
    this.gen = 0;
    this.pendingIce = [];
    this.localStream = null;
    this.localPromise = null;
    this.localGen = 0;
  }

  setIceServers(servers) {
    this.iceServers = Array.isArray(servers) ? servers : [];
  }

  /** This side has no working connection for the call (after a reload or a lost
   * socket): the hub asks the kiosk, which makes the offers, for a new one. */
  requestOffer(callId) {
    this.send({ type: "media_state", call_id: callId, state: "failed" });
  }

  /** Make `callId` the current call (null for none). */
  setCall(callId) {
    if (this.callId !== callId) this.closePc();
    this.callId = callId;
    yijian.callId = callId;
  }

  /**
   * Open the camera and microphone once per call. Resolves to
   * {stream, missing: null | "camera" | "all"}; never rejects.
   */
  acquireLocal() {
    if (!this.localPromise) this.localPromise = this.openDevices(++this.localGen);
    return this.localPromise;
  }

  async openDevices(gen) {
    const md = navigator.mediaDevices;
    if (!md || !md.getUserMedia) return { stream: null, missing: "all" };
    const attempts = [
      [{ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } }, null],
      [{ audio: true, video: false }, "camera"],
    ];
    for (const [constraints, missing] of attempts) {
      try {
        const stream = await md.getUserMedia(constraints);
        if (gen !== this.localGen) {
          // the call ended while the devices were opening
          for (const track of stream.getTracks()) track.stop();
          return { stream: null, missing: null };
        }
        this.localStream = stream;
        this.localVideo.srcObject = stream;
        this.localVideo.play().catch(() => {});
        return { stream, missing };
      } catch (err) {
        console.warn("yijian: getUserMedia failed", constraints, err);
      }
    }
    return { stream: null, missing: "all" };
  }

  /** The kiosk's offer for the current call: answer it on a fresh peer connection. */
  async handleOffer(callId, description) {
    if (callId !== this.callId) {
      console.warn(`yijian: offer for ${callId} but the current call is ${this.callId}`);
      return;
    }
    const gen = ++this.gen;
    this.closePc();
    this.onState("connecting");
    const { stream } = await this.acquireLocal();
    if (gen !== this.gen || callId !== this.callId) return; // superseded meanwhile

    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    yijian.pc = pc;
    this.pendingIce = [];
    const remote = new MediaStream();
    this.remoteVideo.srcObject = remote;

    pc.ontrack = (ev) => {
      remote.addTrack(ev.track);
      this.playRemote();
    };
    pc.onicecandidate = (ev) => {
      if (this.pc !== pc) return;
      if (ev.candidate && !ev.candidate.candidate) return; // "" also means end; null follows
      const candidate = ev.candidate ? candidateMessage(ev.candidate) : null;
      this.send({ type: "ice", call_id: callId, candidate });
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      const state = pc.connectionState;
      if (state === "connected" || state === "failed") {
        this.send({ type: "media_state", call_id: callId, state });
        this.onState(state);
      } else if (state === "disconnected") {
        this.onState("connecting");
      }
    };

    try {
      await pc.setRemoteDescription(description);
      if (stream) for (const track of stream.getTracks()) pc.addTrack(track, stream);
      for (const cand of this.pendingIce.splice(0)) await this.addCandidate(pc, cand);
      await pc.setLocalDescription(await pc.createAnswer());
      if (this.pc !== pc) return;
      this.send({
        type: "sdp",
        call_id: callId,
        description: { type: "answer", sdp: pc.localDescription.sdp },
      });
    } catch (err) {
      console.error("yijian: could not answer the kiosk's offer", err);
      if (this.pc === pc) {
        this.send({ type: "media_state", call_id: callId, state: "failed" });
        this.onState("failed");
      }
    }
  }

  /** A trickled candidate from the kiosk; buffered until the offer is applied. */
  async handleIce(callId, candidate) {
    if (callId !== this.callId || !candidate) return; // null: end of candidates
    const pc = this.pc;
    if (!pc || !pc.remoteDescription) {
      this.pendingIce.push(candidate);
      return;
    }
    await this.addCandidate(pc, candidate);
  }

  async addCandidate(pc, candidate) {
    try {
      await pc.addIceCandidate(candidate);
    } catch (err) {
      console.warn("yijian: ignored a candidate the browser refused", candidate, err);
    }
  }

  playRemote() {
    const video = this.remoteVideo;
    video.muted = false;
    video.play().catch((err) => {
      if (err && err.name === "NotAllowedError") {
        // Autoplay with sound needs a click; show the picture muted meanwhile.
        video.muted = true;
        video.play().catch(() => {});
        this.onAutoplayBlocked();
      }
    });
  }

  unmute() {
    this.remoteVideo.muted = false;
    this.remoteVideo.play().catch(() => {});
  }

  /** Close the peer connection only (the kiosk will send a new offer). Idempotent. */
  closePc() {
    const pc = this.pc;
    this.pc = null;
    yijian.pc = null;
    this.pendingIce = [];
    if (pc) {
      pc.ontrack = pc.onicecandidate = pc.onconnectionstatechange = null;
      pc.close();
    }
    this.remoteVideo.srcObject = null;
  }

  /** The call is over: close everything and release the devices. Idempotent. */
  end() {
    this.gen++;
    this.localGen++;
    this.closePc();
    this.setCall(null);
    if (this.localStream) for (const track of this.localStream.getTracks()) track.stop();
    this.localStream = null;
    this.localPromise = null;
    this.localVideo.srcObject = null;
  }
}
