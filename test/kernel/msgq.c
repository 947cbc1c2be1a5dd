// Guest helper for the kernel type-update test (patch-guest.sh): System V
// message queues, whose struct msg_queue (ipc/msg.c) dsu-cc wraps.
//   msgq create KEY        creates the queue (IPC_CREAT), prints its id
//   msgq send KEY TEXT     sends TEXT (type 1), without blocking
//   msgq recv KEY          receives one message without blocking, prints it
//   msgq wait KEY          receives one message, sleeping in the kernel
//                          (do_msgrcv) until one comes, prints it
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

struct message {
  long type;
  char text[256];
};

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: msgq create|send|recv|wait KEY [TEXT]\n");
    return 2;
  }
  key_t key = (key_t)strtol(argv[2], NULL, 0);
  int id = msgget(key, strcmp(argv[1], "create") ? 0 : IPC_CREAT | 0600);
  if (id < 0) {
    perror("msgget");
    return 1;
  }
  struct message m = {1, ""};
  if (!strcmp(argv[1], "create")) {
    printf("%d\n", id);
  } else if (!strcmp(argv[1], "send") && argc == 4) {
    snprintf(m.text, sizeof m.text, "%s", argv[3]);
    if (msgsnd(id, &m, strlen(m.text) + 1, IPC_NOWAIT)) {
      perror("msgsnd");
      return 1;
    }
  } else if (!strcmp(argv[1], "recv") || !strcmp(argv[1], "wait")) {
    if (msgrcv(id, &m, sizeof m.text, 0, strcmp(argv[1], "wait") ? IPC_NOWAIT : 0) < 0) {
      perror("msgrcv");
      return 1;
    }
    printf("%s\n", m.text);
  } else {
    fprintf(stderr, "msgq: unknown command %s\n", argv[1]);
    return 2;
  }
  return 0;
}
