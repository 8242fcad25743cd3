// One RFB stream of a recording on the page: a fresh noVNC fed through a ReplayChannel, in an
// element of its own stacked over the previous stream's. A new stream stays invisible until its
// first picture arrives and only then replaces the old one, so seeking and segment changes do not
// flash an empty canvas.
import RFB from '@novnc/novnc';
import { serverHandshake, type StreamStart } from '../../../session-recorder/src/recording/playback-handshake.js';
import { ReplayChannel } from './replay-channel.js';

export class PlaybackStream {
  readonly element: HTMLDivElement;
  private readonly rfb: RFB;
  private readonly channel = new ReplayChannel();
  private shownValue = false;
  private closed = false;

  constructor(stage: HTMLElement, start: StreamStart, private readonly onShown: (stream: PlaybackStream) => void) {
    this.element = document.createElement('div');
    this.element.className = 'stream pending';
    stage.append(this.element);
    this.rfb = new RFB(this.element, this.channel as unknown as WebSocket, { shared: true });
    // Before the handshake: noVNC grabs the keyboard at ServerInit unless it is view-only.
    this.rfb.viewOnly = true;
    this.rfb.focusOnClick = false;
    this.rfb.scaleViewport = true;
    this.rfb.background = '#1e1f22';
    for (const message of serverHandshake(start)) this.channel.deliver(message);
  }

  get shown(): boolean {
    return this.shownValue;
  }

  /** Recorded server-to-client RFB messages. */
  feed(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    this.channel.deliver(bytes);
    if (!this.shownValue) {
      this.shownValue = true;
      this.element.classList.remove('pending');
      this.onShown(this);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rfb.disconnect();
    this.element.remove();
  }
}
