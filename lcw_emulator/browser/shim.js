/*
 * lcw-emulator shim: window.Microsoft.Omnichannel.LiveChatWidget.SDK, backed by
 * the Python emulator through a WebSocket bridge.
 *
 * Put it where the page loads the live chat widget's script:
 *   <script src="http://127.0.0.1:8765/shim.js"></script>
 * and the documentation's JavaScript runs unchanged. Every SDK method exists;
 * every lcw:* event the Python widget fires is dispatched on window as a
 * CustomEvent with the documented detail; setAuthTokenProvider,
 * setContextProvider and setBotAuthTokenProvider throw at once when given
 * something that is not a function, as the real SDK does, and startProactiveChat
 * when its notificationUIConfig or options are not objects, as the Python SDK
 * does. When the widget needs a provider, the shim calls the page's own function
 * and sends what it calls back (or returns) to Python.
 *
 * Beyond the real SDK, window.LcwEmulator exposes what the emulator saw
 * (events, the Python timeline, the last chat session), and startChat's
 * promise resolves to that session (null when the start failed: the failure
 * arrives as lcw:error, as in the real widget; after a failed load, when no
 * widget is on the page to fire one, it rejects with the reason).
 */
(function () {
  "use strict";

  var here = document.currentScript ? new URL(document.currentScript.src) : new URL(location.href);
  var socketUrl = (here.protocol === "https:" ? "wss://" : "ws://") + here.host + "/lcw";

  var emulator = {
    socketUrl: socketUrl,
    server: null,        // the server's hello: work stream, clock
    connected: false,
    events: [],          // every lcw:* event dispatched, {name, detail}
    timeline: [],        // the Python widget's timeline, entry by entry
    session: null,       // the last chat session startChat resolved to
  };
  window.LcwEmulator = emulator;

  var providers = { auth: null, context: null, bot: null };  // the page's own functions
  var handles = {};
  var pending = {};
  var outbox = [];
  var nextId = 1;
  var socket = null;
  var gone = null;  // why the server connection ended, once it has: calls fail from then on
  var loadFailed = false;  // lcw:error 7 has reached the page: no widget is on it
  var readySeen = false;  // lcw:ready has reached the page: calls run at once from then on
  var latestSet = { auth: null, context: null, bot: null };  // each slot's last set or remove
  // Sets and removes made before lcw:ready, by slot: the widget queues them and replays them
  // after the page's lcw:ready listeners, unless one of those set the slot again since.
  var queuedSet = {};

  function announce(name, detail) {
    // Emulator bookkeeping uses its own prefix so lcw:* listeners never see it.
    window.dispatchEvent(new CustomEvent("lcw-emulator:" + name, { detail: detail }));
  }

  // What the page sends in one task (with the promise callbacks that task runs) leaves as one
  // frame, which the server handles in one pass: calls the page made together reach the
  // widget together, in the order and loop turn they would have in Python (a startChat, and
  // the setAuthTokenProvider a promise callback makes right after it), whatever the network.
  // The frame leaves on the next task through a MessageChannel, not a timer: a page's fake
  // or paused timers (test clocks) and a hidden tab's throttled ones do not hold it back.
  var batch = null;
  var leaving = false;  // the page is unloading: no later task will run, so send at once
  var MAX_BATCH = 1000;  // the server's limits: messages in a batch, and a frame of 1 MiB
  var MAX_FRAME_CHARS = 256 * 1024;  // a character is at most 3 bytes (4 for 2 units)
  var flusher = new MessageChannel();
  flusher.port1.onmessage = flush;

  function send(message) {
    if (!(socket && socket.readyState === WebSocket.OPEN)) {
      outbox.push(message);
      return;
    }
    if (leaving) {
      var text;
      try {
        text = JSON.stringify(message);
      } catch (error) {
        unsendable(message, error);
        return;
      }
      socket.send(text);
      return;
    }
    if (batch === null) {
      batch = [];
      flusher.port2.postMessage(0);
    }
    batch.push(message);
  }

  function flush() {
    var messages = batch;
    batch = null;
    if (!messages || !(socket && socket.readyState === WebSocket.OPEN)) return;  // gone: said
    var frame = [];
    var size = 0;
    messages.forEach(function (message) {
      var text;
      try {
        text = JSON.stringify(message);
      } catch (error) {  // one message that cannot be sent costs itself, not its batch
        unsendable(message, error);
        return;
      }
      if (frame.length && (frame.length >= MAX_BATCH || size + text.length > MAX_FRAME_CHARS)) {
        sendFrame(frame);
        frame = [];
        size = 0;
      }
      frame.push(text);
      size += text.length + 1;
    });
    if (frame.length) sendFrame(frame);
  }

  function unsendable(message, error) {
    var why = "lcw-emulator: a message could not be sent (" + describeError(error) + ")";
    console.error(why);
    var waiting = message.type === "call" && pending[message.id];
    if (waiting) {
      delete pending[message.id];
      waiting.reject(new Error(why));
    }
  }

  function sendFrame(texts) {
    socket.send(texts.length === 1 ? texts[0] : '{"type":"batch","messages":[' + texts.join(",") + "]}");
  }

  // Whenever the page's own listeners run, what they queued goes out: a closeChat the page makes
  // as it leaves still arrives. Only pagehide, fired on a real unload, sends each later call
  // at once; a beforeunload may be followed by no unload at all (a 204, a download, a
  // cancelled "Leave site?"), so it only flushes.
  window.addEventListener("beforeunload", flush);
  window.addEventListener("pagehide", function () {
    leaving = true;
    flush();
  });
  window.addEventListener("pageshow", function () { leaving = false; });

  // A value as JSON carries it to the server: a BigInt as its digits (JSON has no such
  // number), an undefined field as null (the SDK deletes a customContext entry whose value is
  // undefined, as one that is null), and an object inside itself as a note saying so, so that
  // one such field costs itself, not the whole argument. Throws what reading it threw (a getter).
  function toJson(value) {
    if (value === undefined) return null;
    var ancestors = [];
    var text = JSON.stringify(value, function (key, item) {
      if (typeof item === "bigint") return item.toString();
      if (item === undefined && key !== "") return null;
      if (typeof item !== "object" || item === null) return item;
      while (ancestors.length && ancestors[ancestors.length - 1] !== this) ancestors.pop();
      if (ancestors.indexOf(item) !== -1) return "[circular reference]";
      ancestors.push(item);
      return item;
    });
    return text === undefined ? null : JSON.parse(text);
  }

  function jsonable(value) {
    try {
      return toJson(value);
    } catch (error) {
      return String(value);
    }
  }

  // An SDK argument: one that cannot be read throws from the call, as Python raises.
  function argument(method, what, value) {
    try {
      return toJson(value);
    } catch (error) {
      throw new TypeError(method + ": " + what + " could not be read (" + describeError(error) + ")");
    }
  }

  function describeError(error) {
    try {
      if (error && typeof error === "object" && "message" in error) {
        return (error.name || "Error") + ": " + error.message;
      }
      return String(error);
    } catch (unprintable) {  // a thrown Object.create(null): still a throw, said as one
      return Object.prototype.toString.call(error);
    }
  }

  function describeValue(value) {
    if (value === null) return "null";
    if (value === undefined) return "undefined";
    if (typeof value === "object" && typeof value.then === "function") {
      return "a Promise (pass the function itself, not what calling it returned)";
    }
    if (typeof value === "string") return "string " + JSON.stringify(value).slice(0, 60);
    if (typeof value === "object") return "object " + (jsonable(value) === null ? "" : JSON.stringify(jsonable(value)).slice(0, 60));
    return typeof value + " " + String(value);
  }

  // rejectCoded: a coded refusal rejects too (a setter must know it was refused); by default
  // it resolves null, as the page already heard it as an lcw:error event.
  function call(method, args, rejectCoded) {
    var id = nextId++;
    return new Promise(function (resolve, reject) {
      if (gone) {
        // Nothing would ever answer: say so rather than leave the promise pending forever.
        reject(new Error(gone));
        return;
      }
      pending[id] = {
        method: method, resolve: resolve, reject: reject, rejectCoded: !!rejectCoded,
        afterLoadFailure: loadFailed,
      };
      send({ type: "call", id: id, method: method, args: args || [] });
    });
  }

  // Methods that return nothing in the real SDK: a failure is logged, never an
  // unhandled rejection in the page.
  function fireAndForget(method, args) {
    call(method, args).catch(function (error) {
      console.error("Microsoft.Omnichannel.LiveChatWidget.SDK." + method + ": " + error.message);
    });
  }

  // The getters answer from the page at once, as the real SDK's do, with what Python holds:
  // a set or remove made after lcw:ready at once; one made before it once the widget replays
  // it, after the page's lcw:ready listeners (never, if the load failed, a strict widget
  // refused it, or a listener set the slot again); a set the widget refuses is undone.
  function changeProvider(kind, fn) {
    var mine = {};
    latestSet[kind] = mine;
    if (readySeen) providers[kind] = fn;
    else queuedSet[kind] = { fn: fn, mine: mine };
    return mine;
  }

  function setProvider(kind, method, fn) {
    var previous = providers[kind];
    var mine = changeProvider(kind, fn);
    call(method, [handleFor(fn)], true).catch(function (error) {
      var queued = queuedSet[kind];
      if (queued && queued.mine === mine) delete queuedSet[kind];
      if (providers[kind] === fn) providers[kind] = previous;
      console.error("Microsoft.Omnichannel.LiveChatWidget.SDK." + method + ": " + error.message);
    });
  }

  function replayQueuedSets() {
    Object.keys(queuedSet).forEach(function (kind) {
      var queued = queuedSet[kind];
      if (latestSet[kind] === queued.mine) providers[kind] = queued.fn;  // not overtaken
    });
    queuedSet = {};
  }

  function requireFunction(method, value, parameter) {
    if (typeof value !== "function") {
      throw new TypeError(method + ": " + parameter + " must be a function, got " + describeValue(value));
    }
  }

  function handleFor(fn) {
    var handle = "p" + nextId++;
    handles[handle] = fn;
    return { "$provider": handle, name: fn.name || "anonymous" };
  }

  // Run the page's provider and report what it did: returned (after its
  // promise settles, for an async one) or threw.
  function runProvider(request, run) {
    var value;
    try {
      value = run();
    } catch (error) {
      send({ type: "threw", request: request, error: describeError(error) });
      return;
    }
    if (value && typeof value.then === "function") {
      value.then(
        function (settled) { send({ type: "returned", request: request, value: jsonable(settled) }); },
        function (error) { send({ type: "threw", request: request, error: describeError(error) }); }
      );
    } else {
      send({ type: "returned", request: request, value: jsonable(value) });
    }
  }

  function provide(message) {
    var fn = handles[message.handle];
    var request = message.request;
    if (typeof fn !== "function") {
      send({ type: "threw", request: request, error: "ReferenceError: the provider is gone" });
      return;
    }
    function callback() {
      var args = Array.prototype.map.call(arguments, jsonable);
      if (message.kind === "bot" && arguments[0] !== null && typeof arguments[0] === "object") {
        // Whether to show sign-in is JavaScript's truthiness of show, decided here.
        var copy = args[0] !== null && typeof args[0] === "object" ? args[0] : {};
        args[0] = Object.assign({}, copy, { show: !!arguments[0].show });
      }
      send({ type: "callback", request: request, args: args });
    }
    if (message.kind === "auth") {
      runProvider(request, function () { return fn(callback); });
    } else if (message.kind === "context") {
      runProvider(request, function () { return fn(); });
    } else if (message.kind === "bot") {
      runProvider(request, function () { return fn(message.url, callback); });
    }
  }

  function settle(message) {
    var waiting = pending[message.id];
    if (!waiting) return;
    delete pending[message.id];
    if (message.ok) {
      if (waiting.method === "startChat") {
        emulator.session = message.value;
        announce("session", message.value);
      }
      waiting.resolve(message.value);
      return;
    }
    var error = message.error || {};
    var failure = new Error(error.reason || error.message || "the emulator refused the call");
    failure.name = error.name || "Error";
    // A coded failure already reached the page as an lcw:error event, except code 7 for a
    // call made after the failed load: no widget is on the page to fire one, so the call
    // itself says why. (A call made before it was failed with the lcw:error 7 event.)
    var told = !(error.code === 7 && waiting.afterLoadFailure);
    if (error.code !== null && error.code !== undefined && told && !waiting.rejectCoded) {
      waiting.resolve(null);
      return;
    }
    waiting.reject(failure);
  }

  function receive(message) {
    switch (message.type) {
      case "hello":
        emulator.server = message;
        announce("hello", message);
        break;
      case "event":
        emulator.events.push({ name: message.name, detail: message.detail });
        if (message.name === "lcw:error" && message.detail && message.detail.errorCode === 7) {
          loadFailed = true;
          queuedSet = {};  // dropped with the calls the failed widget never makes
        }
        if (message.name === "lcw:closeChat" && emulator.session) {
          // The session the page holds is closed too: say so before its listeners run.
          emulator.session = Object.assign({}, emulator.session, { state: "closed" });
          announce("session", emulator.session);
        }
        if (message.name === "lcw:ready") readySeen = true;
        window.dispatchEvent(new CustomEvent(message.name, { detail: message.detail }));
        if (message.name === "lcw:ready") {
          // After what its listeners sent, in the same batch: the queued calls replay now,
          // reading the providers they set, as after a Python page's listeners.
          replayQueuedSets();
          send({ type: "ready-dispatched" });
        }
        break;
      case "timeline":
        Array.prototype.push.apply(emulator.timeline, message.entries);
        announce("timeline", message.entries);
        break;
      case "result":
        settle(message);
        break;
      case "provide":
        provide(message);
        break;
      case "protocol-error":
        console.error("lcw-emulator: " + message.reason);
        break;
    }
  }

  function connect() {
    socket = new WebSocket(socketUrl);
    socket.addEventListener("open", function () {
      emulator.connected = true;
      // Calls made before the socket opened go first: like calls made before
      // lcw:ready, the widget queues them and replays them once it is ready.
      var early = outbox;
      outbox = [];
      early.forEach(send);
      send({ type: "load", readyAck: true });
    });
    socket.addEventListener("message", function (event) {
      receive(JSON.parse(event.data));
    });
    socket.addEventListener("close", function (event) {
      emulator.connected = false;
      gone = event.code === 1009
        ? "the lcw-emulator server closed the connection: a message was over its 1 MiB limit " +
          "(WebSocket code 1009); reload the page"
        : "the lcw-emulator server went away (WebSocket closed, code " + event.code +
          (event.reason ? ": " + event.reason : "") + "); start it again and reload the page";
      console.error("lcw-emulator: " + gone);
      Object.keys(pending).forEach(function (id) {
        pending[id].reject(new Error(gone));
        delete pending[id];
      });
      announce("disconnected", { code: event.code, reason: event.reason, message: gone });
    });
  }

  var SDK = {
    setContextProvider: function (contextProvider) {
      requireFunction("setContextProvider", contextProvider, "contextProvider");
      setProvider("context", "setContextProvider", contextProvider);
    },
    getContextProvider: function () {
      fireAndForget("getContextProvider");
      return providers.context;
    },
    removeContextProvider: function () {
      changeProvider("context", null);
      fireAndForget("removeContextProvider");
    },
    setAuthTokenProvider: function (authTokenProvider) {
      requireFunction("setAuthTokenProvider", authTokenProvider, "authTokenProvider");
      setProvider("auth", "setAuthTokenProvider", authTokenProvider);
    },
    getAuthTokenProvider: function () {
      fireAndForget("getAuthTokenProvider");
      return providers.auth;
    },
    removeAuthTokenProvider: function () {
      changeProvider("auth", null);
      fireAndForget("removeAuthTokenProvider");
    },
    startChat: function (options) {
      // Throws as the Python SDK raises for options it cannot take.
      if (options !== undefined && options !== null &&
          (typeof options !== "object" || Array.isArray(options))) {
        throw new TypeError("startChat: options must be an object ({customContext, " +
          "inNewWindow}), got " + describeValue(options));
      }
      var copy = argument("startChat", "options", options);  // read once, getters too
      var context = copy ? copy.customContext : undefined;
      if (context !== undefined && context !== null &&
          (typeof context !== "object" || Array.isArray(context))) {
        throw new TypeError("startChat: customContext must be an object, got " + describeValue(context));
      }
      var args = options === undefined ? [] : [copy];
      var result = call("startChat", args);
      result.catch(function (error) {
        console.error("Microsoft.Omnichannel.LiveChatWidget.SDK.startChat: " + error.message);
      });
      return result;
    },
    closeChat: function () {
      var result = call("closeChat");
      result.catch(function (error) {
        console.error("Microsoft.Omnichannel.LiveChatWidget.SDK.closeChat: " + error.message);
      });
      return result;
    },
    getAgentAvailability: function () {
      return call("getAgentAvailability");
    },
    startProactiveChat: function (notificationUIConfig, showPrechat, options) {
      // Throws as the Python SDK raises: the config is required (its message may be left out).
      if (notificationUIConfig === null || notificationUIConfig === undefined) {
        throw new TypeError("startProactiveChat: notificationUIConfig is required: an object " +
          "such as {message: ...} ({} shows the default message)");
      }
      if (typeof notificationUIConfig !== "object" || Array.isArray(notificationUIConfig)) {
        throw new TypeError("startProactiveChat: notificationUIConfig must be an object " +
          "({message}), got " + describeValue(notificationUIConfig));
      }
      var message = notificationUIConfig.message;
      if (message !== undefined && message !== null && typeof message !== "string") {
        throw new TypeError("startProactiveChat: notificationUIConfig.message must be a string");
      }
      if (options !== undefined && options !== null &&
          (typeof options !== "object" || Array.isArray(options))) {
        throw new TypeError("startProactiveChat: options must be an object ({inNewWindow}), " +
          "got " + describeValue(options));
      }
      var args = [jsonable(notificationUIConfig)];
      if (showPrechat !== undefined || options !== undefined) {
        args.push(showPrechat === undefined ? true : jsonable(showPrechat));
      }
      if (options !== undefined) args.push(jsonable(options));
      fireAndForget("startProactiveChat", args);
    },
    setBotAuthTokenProvider: function (botAuthTokenProvider) {
      requireFunction("setBotAuthTokenProvider", botAuthTokenProvider, "botAuthTokenProvider");
      setProvider("bot", "setBotAuthTokenProvider", botAuthTokenProvider);
    },
  };

  window.Microsoft = window.Microsoft || {};
  window.Microsoft.Omnichannel = window.Microsoft.Omnichannel || {};
  window.Microsoft.Omnichannel.LiveChatWidget = window.Microsoft.Omnichannel.LiveChatWidget || {};
  window.Microsoft.Omnichannel.LiveChatWidget.SDK = SDK;

  // Connect once the page's own scripts have run, so listeners the page adds
  // for lcw:ready are in place before the widget loads (as with the real
  // widget, whose scripts load asynchronously).
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
