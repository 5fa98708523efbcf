#include <event2/event.h>

#include "core/event/version.h"

namespace gh::event {
const char* libeventVersion() { return event_get_version(); }
}  // namespace gh::event
