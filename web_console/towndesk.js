// The town's side of the desk: 值班情况 (team.js) for supervisors and admins, and the
// town's queue settings (queuesettings.js), which supervisors and admins change and
// operators may read; and people and kiosks (staff.js) for supervisors and admins. It
// also learns the one setting the console itself needs.

import * as api from "./api.js";
import { $ } from "./dom.js";
import { QueueSettings } from "./queuesettings.js";
import { StaffPanel } from "./staff.js";
import { canWatch, TeamPanel } from "./team.js";

export class TownDesk {
  /**
   * @param send      function(msg) → ref, or null when the hub's socket is down
   * @param openCall  function(callId) shows a call's detail
   * @param directory what the console has seen (filters.js), for an admin's town pick
   * @param onMaxMissed function(n) the town's max_missed_rings, when learnt or changed
   */
  constructor({ send, toast, openCall, directory, onMaxMissed }) {
    this.operator = null;
    this.onMaxMissed = onMaxMissed;
    this.team = new TeamPanel({ view: $("team-view"), openCall, directory, send });
    this.staff = new StaffPanel({ view: $("staff-view"), toast });
    this.settings = new QueueSettings({
      dialog: $("queue-settings"),
      toast,
      onSaved: (town, settings) => {
        if (this.operator && town === this.operator.town_id) onMaxMissed(settings.max_missed_rings);
      },
    });
    $("queue-settings-open").addEventListener("click", () => {
      if (this.operator) this.settings.open(this.team.town || this.operator.town_id);
    });
    $("queue-settings-view").addEventListener("click", () => {
      if (this.operator) this.settings.open(this.operator.town_id, { readOnly: true });
    });
  }

  signedIn(info) {
    this.operator = info;
    this.team.setOperator(info);
    this.staff.setOperator(info);
    const watches = canWatch(info.role);
    $("queue-settings-open").hidden = !watches;
    $("desk-tools").hidden = watches; // operators read the settings from here
    this.learnSettings(info.town_id);
  }

  signedOut() {
    this.operator = null;
    this.team.setOperator(null);
    this.staff.setOperator(null);
    $("desk-tools").hidden = true;
    if (this.settings.dialog.open) this.settings.dialog.close();
  }

  /** The hub's socket opened (again). */
  connected() {
    this.team.connected();
  }

  /** The hub's `team`. */
  pushed(msg) {
    this.team.pushed(msg);
  }

  setVisible(visible) {
    this.team.setVisible(visible);
  }

  /** The language changed. */
  render() {
    this.team.render();
    this.staff.render();
    this.settings.relabel();
  }

  tick() {
    this.team.tick();
  }

  /** After how many missed rings the hub sets an operator away (to tell that apart
   * from their own choice). */
  async learnSettings(town) {
    try {
      this.onMaxMissed((await api.getQueueSettings(town)).settings.max_missed_rings);
    } catch (err) {
      console.warn("yijian: town settings", err);
    }
  }
}
