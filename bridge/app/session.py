"""Wiring: a Config in, a running session out (classifier, bank, matcher, engine, outputs, control).

    parts = build_session(config, extra_sinks=[hud])   # the canvas, MIDI and replay commands
    parts.session.post(PenDown(x=..., y=..., color=..., width_px=...))
    ...
    parts.close()

    engine = build_engine(classifier, bank)             # headless / batch: no threads, no sockets

Heavy libraries (the model runtime, pygame, python-osc, the bank indexer) are imported inside these
functions, never when this module is imported.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from bridge import __version__
from bridge.app.background_sink import BackgroundSink
from bridge.app.config import Config
from bridge.app.live_session import LiveSession, Sink
from bridge.core.bank import SoundBank
from bridge.core.engine import Engine, EngineConfig, Gestures, MatchFn
from bridge.core.events import Event, PenDown, PenMove, PenUp

if TYPE_CHECKING:
    import numpy as np

    from bridge.adapters.audio_pygame import LocalAudio
    from bridge.adapters.language_files import SessionLanguage
    from bridge.adapters.midi_out_mido import MidiOutput
    from bridge.adapters.osc_control import OscControlServer
    from bridge.adapters.osc_out import OscSender
    from bridge.adapters.oscquery_http import OscQueryServer
    from bridge.adapters.oscquery_mdns import MdnsAdvert
    from bridge.app.score_player import ScorePlayer
    from bridge.core.labels import Prediction
    from bridge.core.matching import Matcher
    from bridge.core.raster import CanvasRaster
    from bridge.core.score import ScoreSettings

log = logging.getLogger(__name__)


class ImageClassifier(Protocol):
    """What a session needs of an image model (bridge.adapters.image_classifier): a version, and classify for
    images and for the engine's rasters."""

    version: str

    def classify(self, image: np.ndarray) -> Prediction: ...

    def classify_raster(self, raster: CanvasRaster) -> Prediction: ...


def session_meta(classifier: object, bank: SoundBank) -> dict[str, str]:
    """What a saved drawing records about the session that made it."""
    return {
        "model_version": str(getattr(classifier, "version", "unknown")),
        "bank_version": str(bank.version),
        "bridge_version": __version__,
    }


def build_engine(
    classifier: ImageClassifier,
    bank: SoundBank,
    *,
    seed: int = 0,
    top_k: int = 5,
    engine_config: EngineConfig | None = None,
    matcher: MatchFn | None = None,
    gestures: Gestures | None = None,
    language: dict[str, str] | None = None,
) -> Engine:
    """An Engine with a Matcher over `bank` (or the given one); its drawing's meta names the model, bank
    and bridge versions, and the taught language (`language`: its path and hash) whose recogniser
    `gestures` is. Raises SoundBankError for an empty bank."""
    from bridge.core.matching import Matcher

    if matcher is None:
        matcher = Matcher(bank, seed=seed, top_k=top_k)
    engine = Engine(classify=classifier.classify_raster, match=matcher, config=engine_config, gestures=gestures)
    meta: dict[str, object] = dict(session_meta(classifier, bank))
    if language is not None:
        meta["language"] = dict(language)
    engine.drawing = replace(engine.drawing, meta=meta)
    return engine


def engine_config(config: Config) -> EngineConfig:
    """The engine's settings from the session config: play mode, voice limit, palette, register and whether
    unpitched samples may answer."""
    return EngineConfig(mode=config.mode, max_voices=config.voices, palette=config.palette, register=config.register,
                        unpitched=config.unpitched)


def load_bank(config: Config) -> SoundBank:
    """The bank of `config.bank_folder`, or the built-in default bank."""
    if config.bank_folder is not None:
        from bridge.adapters.soundbank_index import load_bank as load_folder

        return load_folder(config.bank_folder)
    from bridge.adapters.default_bank import default_bank

    return default_bank()


@dataclass
class SessionParts:
    """Everything build_session made; `close()` stops and releases it all (idempotent)."""

    config: Config
    classifier: ImageClassifier
    bank: SoundBank
    matcher: Matcher
    engine: Engine
    session: LiveSession
    sender: OscSender
    audio: LocalAudio | None = None  # None with --audio none
    control: OscControlServer | None = None  # None without --control-port
    midi_out: MidiOutput | None = None  # None without --midi-out
    oscquery: OscQueryServer | None = None  # None with --no-oscquery
    mdns: MdnsAdvert | None = None  # started with the OSCQuery server
    audio_feed: BackgroundSink | None = None  # hands the bundles to `audio` on its own thread
    score: ScorePlayer | None = None  # set by attach_score
    language: SessionLanguage | None = None  # the --language one
    _closed: bool = field(default=False, repr=False)
    _started: bool = field(default=False, repr=False)

    def start(self) -> SessionParts:
        """Start the engine thread and the control server (build_session does this unless start=False)."""
        if not self._started and not self._closed:
            self._started = True
            self.session.start()
            if self.score is not None:
                self.score.start()
            if self.control is not None:
                try:
                    self.control.start()
                except Exception:
                    self.close()
                    raise
            if self.oscquery is not None:
                try:
                    self._start_oscquery(self.oscquery)
                except Exception:
                    self.close()
                    raise
        return self

    def _start_oscquery(self, oscquery: OscQueryServer) -> None:
        """Serve the OSC namespace, naming the control port actually bound, and advertise it over mDNS."""
        from bridge.adapters.oscquery_mdns import MdnsAdvert

        oscquery.control_port = None if self.control is None else self.control.port
        oscquery.start()
        self.mdns = MdnsAdvert(host=oscquery.host, port=oscquery.port).start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.mdns is not None:
            self.mdns.stop()  # the goodbye packets go out on the advert's own thread
        if self.oscquery is not None:
            self.oscquery.stop()
        if self.control is not None:
            self.control.stop()
        if self.score is not None:  # its last notes end (ScoreState stopped) before the engine stops
            self.score.close()
        self.session.wait_idle(2.0)
        self.session.stop()
        self.sender.close()
        if self.audio_feed is not None:
            self.audio_feed.close()
        if self.audio is not None:
            self.audio.close()
        if self.midi_out is not None:  # after the engine stopped: no note can start after its note-offs
            self.midi_out.close()


def attach_score(parts: SessionParts, settings: ScoreSettings) -> ScorePlayer:
    """A score player (bridge.app.score_player) for the session: the transport controls (keys, OSC, MIDI) go
    to it, it posts its notes to the engine ahead of time by the OSC latency, and follows incoming MIDI clock
    with `config.midi_clock`. Started with the session."""
    from bridge.app.score_player import ScorePlayer

    player = ScorePlayer(settings, post=parts.session.post, strokes=parts.engine.finished_strokes,
                         session_ms=parts.session.ms_at, latency_ms=parts.config.osc_latency_ms,
                         follow_clock=parts.config.midi_clock)
    parts.session.on_transport = player.control
    parts.score = player
    if parts._started:
        player.start()
    return player


def warm_up(classifier: ImageClassifier, bank: SoundBank, matcher: MatchFn) -> None:
    """Draw one stroke on a throwaway engine and encode its bundles (nothing is sent), so the first stroke
    of a session does not pay for cold code paths (first classification, first match, first encoding)."""
    from bridge.adapters.osc_out import encode_bundle

    engine = build_engine(classifier, bank, matcher=matcher)
    events: list[Event] = [PenDown(t_ms=0.0, x=100.0, y=200.0, color="#000000", width_px=5.0),
                           PenMove(t_ms=100.0, x=300.0, y=200.0), PenUp(t_ms=100.0)]
    for bundle in map(engine.handle, events):
        if bundle is not None:
            encode_bundle(bundle)
    settle_heap()


def settle_heap() -> None:
    """Collect once, then freeze what is left out of the cyclic garbage collector's reach: the model, the bank,
    the matcher's tables and every module live as long as the session, and a full collection walking them
    all stops every thread (the canvas, the engine) for tens of ms in the middle of a performance."""
    gc.collect()
    gc.freeze()


def _midi_output(config: Config, bank: SoundBank) -> MidiOutput | None:
    """The MIDI output of `--midi-out` / `[midi] output` (None when unset or its port cannot be opened)."""
    if not config.midi_out:
        return None
    from bridge.app.midi_wiring import start_midi_output

    return start_midi_output(config, bank)


def build_session(
    config: Config,
    *,
    extra_sinks: Sequence[Sink] = (),
    start: bool = True,
    classifier: ImageClassifier | None = None,
    bank: SoundBank | None = None,
) -> SessionParts:
    """Load the classifier and bank (unless given), wire the engine to OSC (and local audio), start the threads.

    Sinks run on the engine thread in this order: OSC out, local audio, MIDI out, then `extra_sinks` (HUD,
    recorder).
    """
    from bridge.core.matching import Matcher

    if classifier is None:
        from bridge.adapters.image_classifier import load_image_classifier

        classifier = load_image_classifier()
    if bank is None:
        bank = load_bank(config)
    matcher = Matcher(bank)
    language = _session_language(config)
    engine = build_engine(classifier, bank, matcher=matcher, engine_config=engine_config(config),
                          gestures=None if language is None else language.recogniser,
                          language=None if language is None else language.record())
    outputs = _Outputs.open(config, bank)
    warm_up(classifier, bank, matcher)
    session = LiveSession(engine, [*outputs.sinks(), *extra_sinks])
    parts = SessionParts(config, classifier, bank, matcher, engine, session, outputs.sender, outputs.audio,
                         _control_server(config, session), audio_feed=outputs.audio_feed)
    parts.midi_out = outputs.midi_out
    parts.language = language
    if config.oscquery:  # started with the session, once the control port is bound
        from bridge.adapters.oscquery_http import OscQueryServer

        parts.oscquery = OscQueryServer(host=config.control_host, port=config.oscquery_port)
    log.info(
        "session: model %s, bank %s (%d samples), OSC to %s",
        engine.drawing.meta["model_version"], bank.version, len(bank),
        ", ".join(f"{h}:{p}" for h, p in config.osc_targets),
    )
    return parts.start() if start else parts


def _session_language(config: Config) -> SessionLanguage | None:
    """The taught language of `--language` / `[language]`, if any."""
    if config.language is None:
        return None
    from bridge.adapters.language_files import SessionLanguage

    return SessionLanguage(config.language)


@dataclass(frozen=True)
class _Outputs:
    """The session's outputs, opened: OSC, local audio (fed on its own thread) and MIDI out."""

    sender: OscSender
    audio: LocalAudio | None
    audio_feed: BackgroundSink | None
    midi_out: MidiOutput | None

    @classmethod
    def open(cls, config: Config, bank: SoundBank) -> _Outputs:
        from bridge.adapters.osc_out import OscSender

        sender = OscSender(config.osc_targets, latency_ms=config.osc_latency_ms)
        audio = audio_feed = None
        if config.audio == "local":
            from bridge.adapters.audio_pygame import LocalAudio

            audio = LocalAudio(voices=config.voices)
            audio.open()  # no device: one warning line now, then a no-op
            audio_feed = BackgroundSink(audio, name="local playback")  # decoding a file never delays the OSC
            paths = [sample.path for sample in bank.samples]
            threading.Thread(target=_preload, args=(audio, paths), name="pict2audio-preload", daemon=True).start()
        return cls(sender, audio, audio_feed, _midi_output(config, bank))

    def sinks(self) -> list[Sink]:
        """The outputs as engine sinks, in the order they run: OSC, local audio, MIDI out."""
        return [sink for sink in (self.sender, self.audio_feed, self.midi_out) if sink is not None]


PRELOAD_NICE = 10  # about a tenth of a core's share against normal threads: done in seconds, even on a busy machine


def _preload(audio: LocalAudio, paths: list[str]) -> None:
    """Decode the bank's samples ahead of their first play, at a low CPU priority where the OS allows one for a
    thread (Linux: nice PRELOAD_NICE), so that preloading gives way to the canvas and the engine."""
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PRELOAD_NICE)
        except OSError as exc:
            log.debug("preloading at normal priority: %s", exc)
    audio.preload(paths)


def _control_server(config: Config, session: LiveSession) -> OscControlServer | None:
    """The OSC control server of `--control-port` (not started yet), if any."""
    if config.control_port is None:
        return None
    from bridge.adapters.osc_control import OscControlServer

    return OscControlServer(session, host=config.control_host, port=config.control_port)
